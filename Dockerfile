# ringmaster's image. The base images are build arguments:
#   GPU hosts (default): built in NVIDIA's CUDA devel image (nvcc, cuBLAS,
#     cuDNN: the CUDA backend is compiled whenever nvcc is there), run in the
#     CUDA runtime image; CPU-only hosts can run it too (the CUDA module is
#     loaded only when the driver reports a GPU).
#       docker build -t ringmaster .
#   CPU hosts: plain Debian bookworm for both, no CUDA.
#       docker build -t ringmaster --build-arg BUILD_IMAGE=debian:bookworm \
#         --build-arg RUN_IMAGE=debian:bookworm .
#   Binaries built on the host (Debian 12, scripts/build.sh) instead of in
#   the build stage, as the deploy test does: scripts/docker-images.sh.
# The packages are the Debian 12 ones scripts/install-deps.sh names (Ubuntu
# 24.04 has them under the same names). The runtime image has no compilers and
# runs as the unprivileged user ringmaster (uid 10001).
ARG BUILD_IMAGE=nvidia/cuda:13.0.1-cudnn-devel-ubuntu24.04
ARG RUN_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
# Where /opt/ringmaster/{bin,lib} and /opt/ringmaster/data come from: the
# build and data-fetch stages below, or an image holding a host's build (laid
# out by scripts/collect-runtime.sh) and data (scripts/install-data.sh), as
# scripts/docker-images.sh makes. With BuildKit the unused stages are skipped.
ARG BINARIES=build
ARG DATA=data-fetch

FROM ${BUILD_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost-dev libzmq3-dev cppzmq-dev nlohmann-json3-dev prometheus-cpp-dev \
      libdnnl-dev libsqlite3-dev libstb-dev libpng-dev libturbojpeg0-dev libcli11-dev zlib1g-dev \
      ocl-icd-opencl-dev opencl-c-headers \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY ops ops
COPY models models
COPY comm comm
COPY training training
COPY worker worker
COPY coordinator coordinator
COPY cli cli
COPY bench bench
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build build --target ringmaster \
    && if ninja -C build -t targets all | grep -q '^ringmaster_ops_cuda:'; then \
         cmake --build build --target ringmaster_ops_cuda; fi
COPY scripts/collect-runtime.sh scripts/
RUN scripts/collect-runtime.sh build /opt/ringmaster --cuda

# The data files no package installs where the examples look
# (scripts/install-data.sh: digits, lfw_subset.npy, face-api's weights).
FROM ${RUN_IMAGE} AS data-fetch
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates curl
COPY scripts/install-data.sh /usr/local/bin/
RUN RINGMASTER_DATA=/opt/ringmaster/data install-data.sh

FROM ${BINARIES} AS binaries
FROM ${DATA} AS data

FROM ${RUN_IMAGE} AS run
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.ringmaster.image=ringmaster
# curl for the compose health check; the real data sets from Debian.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      curl dataset-fashion-mnist fortunes \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin ringmaster \
    && mkdir -p /var/lib/ringmaster && chown ringmaster:ringmaster /var/lib/ringmaster
COPY --from=binaries /opt/ringmaster/bin /opt/ringmaster/bin
COPY --from=binaries /opt/ringmaster/lib /opt/ringmaster/lib
COPY --from=data /opt/ringmaster/data /opt/ringmaster/data
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
