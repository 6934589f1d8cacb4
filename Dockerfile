# syntax=docker/dockerfile:1
# ringmaster in two stages: build in NVIDIA's CUDA devel image (nvcc, cuBLAS,
# cuDNN: the CUDA backend is compiled whenever nvcc is there), run in the
# CUDA runtime image as a non-root user. CPU-only hosts run the same image
# (the CUDA module is loaded only when the driver reports a GPU).
#   docker build -t ringmaster .
# The Ubuntu packages are the Debian 12 ones scripts/install-deps.sh names.
ARG CUDA_TAG=13.0.1-cudnn
ARG UBUNTU=ubuntu24.04

FROM nvidia/cuda:${CUDA_TAG}-devel-${UBUNTU} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost-dev libzmq3-dev cppzmq-dev nlohmann-json3-dev prometheus-cpp-dev \
      libdnnl-dev libsqlite3-dev libstb-dev libcli11-dev zlib1g-dev \
      ocl-icd-opencl-dev opencl-c-headers \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY ops ops
COPY models models
COPY comm comm
COPY worker worker
COPY coordinator coordinator
COPY cli cli
COPY bench bench
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build build --target ringmaster \
    && if ninja -C build -t targets all | grep -q '^ringmaster_ops_cuda:'; then \
         cmake --build build --target ringmaster_ops_cuda; fi
# The binary, our shared libraries, and every library they need that the
# runtime image lacks (glibc, the driver and the CUDA runtime libraries come
# from there).
RUN mkdir -p /opt/ringmaster/bin /opt/ringmaster/lib \
    && cp build/bin/ringmaster /opt/ringmaster/bin/ \
    && cp build/ops/libringmaster_ops*.so /opt/ringmaster/lib/ \
    && for f in /opt/ringmaster/bin/ringmaster /opt/ringmaster/lib/*.so; do \
         LD_LIBRARY_PATH=/opt/ringmaster/lib ldd "$f" | awk '/=> \//{print $3}'; \
       done | sort -u \
       | grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*|libcuda|libcudart|libcublas[A-Za-z]*|libcudnn[a-z_]*|libringmaster_ops[a-z_]*)\.so' \
       | xargs -r -I{} cp -Lv {} /opt/ringmaster/lib/

FROM nvidia/cuda:${CUDA_TAG}-runtime-${UBUNTU} AS run
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends curl dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin ringmaster \
    && mkdir -p /var/lib/ringmaster && chown ringmaster:ringmaster /var/lib/ringmaster
COPY --from=build /opt/ringmaster /opt/ringmaster
COPY data/digits.csv.gz /opt/ringmaster/data/digits.csv.gz
COPY examples /opt/ringmaster/examples
ENV PATH=/opt/ringmaster/bin:$PATH \
    LD_LIBRARY_PATH=/opt/ringmaster/lib \
    OMP_WAIT_POLICY=PASSIVE
USER ringmaster
WORKDIR /var/lib/ringmaster
# 8080 REST (coordinator), 5555 control plane (coordinator), 9410 metrics (worker)
EXPOSE 8080 5555 9410
ENTRYPOINT ["ringmaster"]
CMD ["--help"]
