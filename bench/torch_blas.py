"""Which BLAS (or MKL) libraries the running process has mapped, so a bench
can print what PyTorch actually used."""


def loaded_blas():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            if "blas" in line or "mkl" in line:
                libs.add(line.split()[-1])
    return sorted(libs)
