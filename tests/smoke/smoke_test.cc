#include <cblas.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
TEST(Smoke, Links) { float a=2,b=3,c=0; cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1,&a,1,&b,1,0,&c,1); EXPECT_EQ(c,6); absl::StatusOr<int> s=absl::InvalidArgumentError(absl::StrCat("x",1)); EXPECT_FALSE(s.ok()); }
