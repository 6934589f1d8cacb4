// The anchor: OpenMPI's MPI_Allreduce (float32 sum, in place) timed exactly
// like bench_allreduce_busbw (warm-up, barrier, the slowest rank's mean,
// busbw = bytes / time * 2 (n - 1) / n). Run under mpirun (see
// bench/allreduce.py for the transport flags); built only when MPI is found.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  std::vector<double> sizes_mib = {1, 16, 64};
  double min_seconds = 1.0;
  int warmup = 3, min_iters = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--sizes-mib") {
      sizes_mib.clear();
      std::string s = argv[i + 1];
      for (size_t p = 0; p < s.size();) {
        const size_t q = std::min(s.find(',', p), s.size());
        sizes_mib.push_back(std::atof(s.substr(p, q - p).c_str()));
        p = q + 1;
      }
    } else if (a == "--min-seconds") {
      min_seconds = std::atof(argv[i + 1]);
    } else if (a == "--warmup") {
      warmup = std::atoi(argv[i + 1]);
    } else if (a == "--min-iters") {
      min_iters = std::atoi(argv[i + 1]);
    }
  }
  for (double mib : sizes_mib) {
    const auto n = static_cast<int>(mib * (1 << 20) / 4);
    std::vector<float> x(static_cast<size_t>(n), 1.0f / static_cast<float>(rank + 1));
    for (int i = 0; i < warmup; ++i)
      MPI_Allreduce(MPI_IN_PLACE, x.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double probe = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, x.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    probe = MPI_Wtime() - probe;
    int iters = std::max(min_iters, static_cast<int>(min_seconds / probe));
    MPI_Bcast(&iters, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (int i = 0; i < iters; ++i)
      MPI_Allreduce(MPI_IN_PLACE, x.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double mean = (MPI_Wtime() - t0) / iters, worst = 0;
    MPI_Reduce(&mean, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      const double bytes = mib * (1 << 20);
      std::printf("RESULT impl=mpi world=%d bytes=%.0f iters=%d time_us=%.1f busbw_GBps=%.3f\n",
                  world, bytes, iters, worst * 1e6, bytes / worst * 2 * (world - 1) / world / 1e9);
      std::fflush(stdout);
    }
  }
  MPI_Finalize();
  return 0;
}
