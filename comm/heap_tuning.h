// ZeroMQ allocates a buffer for every message it receives. glibc serves
// blocks of 128 KiB and more with mmap and returns them with munmap, so each
// tensor chunk would cost fresh, zero-filled pages: at 16 MiB all-reduces the
// page faults took more time than the data (busbw 1.14 GB/s, 1.5-1.8 with the
// blocks kept on the heap). keep_large_blocks_on_heap() raises glibc's mmap
// and trim thresholds (to 256 MiB) once per process, unless the environment
// already sets them (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_). The
// collectives and the parameter server call it when they start.
#pragma once

namespace ringmaster::comm {

void keep_large_blocks_on_heap();

}  // namespace ringmaster::comm
