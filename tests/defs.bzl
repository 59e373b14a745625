"""One cc_test per *_test.cc file, so each test file shows as its own line in Bazel's summary."""

def cc_tests(srcs, deps = [], data = [], size = "small", **kwargs):
    for src in srcs:
        native.cc_test(
            name = src[:-len(".cc")],
            srcs = [src],
            deps = deps + ["@system//:gtest_main"],
            data = data,
            size = size,
            **kwargs
        )
