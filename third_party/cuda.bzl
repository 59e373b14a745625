"""CUDA kernels without rules_cuda: nvcc from /usr/local/cuda, driven by a small rule.

`cuda_kernels` turns .cu files into something a cc_library takes as srcs:
- under `--config=cuda` (//third_party:cuda_enabled), objects compiled by nvcc for sm_80 and sm_90 with
  NORMGRAD_CUDA defined;
- otherwise, the same sources as C++ files compiled by the ordinary toolchain against the host emulation of
  the CUDA execution model (core/cuda/emulation), so that the default build needs no toolkit and CI still
  runs every kernel's logic.
"""

_NVCC = "/usr/local/cuda/bin/nvcc"

# Ampere (A100) and Hopper (H100); each -gencode adds a full device compilation, so the list stays short.
_GENCODE = [
    "-gencode=arch=compute_80,code=sm_80",
    "-gencode=arch=compute_90,code=sm_90",
]

def _nvcc_objects_impl(ctx):
    objects = []
    for src in ctx.files.srcs:
        # ".pic.o": built with -fPIC, so Bazel may link it into shared libraries (tests) and binaries alike.
        obj = ctx.actions.declare_file("%s/%s.pic.o" % (ctx.label.name, src.basename[:-len(".cu")]))
        args = ctx.actions.args()
        args.add_all(["-c", src.path, "-o", obj.path])
        args.add_all(["-std=c++20", "-O3", "--expt-relaxed-constexpr", "-Xcompiler", "-fPIC", "-I."])
        args.add_all(["-D" + d for d in ctx.attr.defines])
        args.add_all(_GENCODE)
        args.add_all(ctx.attr.copts)
        ctx.actions.run(
            executable = _NVCC,
            arguments = [args],
            inputs = [src] + ctx.files.hdrs,
            outputs = [obj],
            mnemonic = "Nvcc",
            progress_message = "nvcc %s" % src.short_path,
            # nvcc finds the host compiler (g++) on PATH.
            use_default_shell_env = True,
        )
        objects.append(obj)
    return [DefaultInfo(files = depset(objects))]

_nvcc_objects = rule(
    implementation = _nvcc_objects_impl,
    attrs = {
        "srcs": attr.label_list(allow_files = [".cu"]),
        "hdrs": attr.label_list(allow_files = True),
        "defines": attr.string_list(),
        "copts": attr.string_list(),
    },
)

def _host_sources_impl(ctx):
    outs = []
    for src in ctx.files.srcs:
        out = ctx.actions.declare_file("%s/%s.cc" % (ctx.label.name, src.basename[:-len(".cu")]))
        # The #line keeps __FILE__ and compiler messages pointing at the .cu file.
        ctx.actions.run_shell(
            inputs = [src],
            outputs = [out],
            command = "{ printf '#line 1 \"%s\"\\n' \"$1\"; cat \"$1\"; } > \"$2\"",
            arguments = [src.path, out.path],
            mnemonic = "CudaHostSource",
        )
        outs.append(out)
    return [DefaultInfo(files = depset(outs))]

_host_sources = rule(
    implementation = _host_sources_impl,
    attrs = {"srcs": attr.label_list(allow_files = [".cu"])},
)

def cuda_kernels(name, srcs, hdrs, copts = []):
    """`name` is a filegroup for a cc_library's srcs: the .cu files built by nvcc or for the emulation.

    Args:
      name: the filegroup.
      srcs: .cu files; each includes what it needs by workspace-relative paths.
      hdrs: every header the .cu files may include (nvcc sees only declared inputs).
      copts: extra nvcc options.
    """
    _nvcc_objects(
        name = name + "_nvcc",
        srcs = srcs,
        hdrs = hdrs,
        defines = ["NORMGRAD_CUDA=1"],
        copts = copts,
    )
    _host_sources(name = name + "_host", srcs = srcs)
    native.filegroup(
        name = name,
        srcs = select({
            "//third_party:cuda_enabled": [":" + name + "_nvcc"],
            "//conditions:default": [":" + name + "_host"],
        }),
    )
