#ifndef NORMGRAD_CORE_CPU_SOFTMAX_H_
#define NORMGRAD_CORE_CPU_SOFTMAX_H_

// Raw softmax and classification-loss loops. Sums and the log-sum-exp accumulate in double; threaded over rows.
//
// Shape legend: a contiguous tensor viewed as [outer, n, inner], normalized over n (the dim of the op):
// the elements of one softmax are x[o * n * inner + k * inner + i] for k < n. Cross-entropy takes
// logits [rows, classes] (inner = 1).

#include <cstdint>

namespace normgrad::cpu {

struct SoftmaxShape {
  int64_t outer = 1, n = 1, inner = 1;
};

// y = x - max - log(sum(exp(x - max))).
template <typename T>
void LogSoftmaxForward(const SoftmaxShape& s, const T* x, T* y);
// grad_x = grad_y - exp(y) * sum(grad_y), y the forward output.
template <typename T>
void LogSoftmaxBackward(const SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x);
// y = exp(x - max) / sum(exp(x - max)).
template <typename T>
void SoftmaxForward(const SoftmaxShape& s, const T* x, T* y);
// grad_x = y * (grad_y - sum(grad_y * y)), y the forward output.
template <typename T>
void SoftmaxBackward(const SoftmaxShape& s, const T* grad_y, const T* y, T* grad_x);

// Per row i with target t = target[i], smoothing e and class weights w (weight[c], or 1 each when weight
// is nullptr), the target distribution q puts w_t (1 - e) + w_t e / C on t and w_c e / C on each other c:
//   loss[i] = -sum_c q_c log softmax(x_i)_c
//           = (1 - e) w_t (logsumexp(x_i) - x[i, t]) + e / C sum_c w_c (logsumexp(x_i) - x[i, c])
// (PyTorch's weighted, smoothed cross-entropy), and 0 for a row whose target is ignore_index. Other
// targets must be in [0, classes) (the caller checks).
template <typename T>
void CrossEntropyForward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                         const T* weight, double smoothing, T* loss);
// grad_logits[i, c] = g_i (softmax(x_i)_c sum_k q_k - q_c) with g_i = scale * grad_loss[i * grad_stride]
// (grad_stride 0 broadcasts one gradient to every row, as for a mean or sum reduction); 0 in the rows
// whose target is ignore_index.
template <typename T>
void CrossEntropyBackward(int64_t rows, int64_t classes, const T* logits, const int64_t* target, int64_t ignore_index,
                          const T* weight, double smoothing, const T* grad_loss, int64_t grad_stride, double scale,
                          T* grad_logits);

// loss[i] = -w_t log_probs[i, t] with t = target[i] (w as above), or 0 where t is ignore_index.
template <typename T>
void NllLossForward(int64_t rows, int64_t classes, const T* log_probs, const int64_t* target, int64_t ignore_index,
                    const T* weight, T* loss);

// The number of rows i where target[i] is among the k largest of x[i, :], ranking a class above another
// when its value is larger, or equal with a smaller index (k = 1: the first argmax is the target); NaN
// ranks above every number.
template <typename T>
int64_t CountCorrect(int64_t rows, int64_t classes, const T* x, const int64_t* target, int64_t k);

}  // namespace normgrad::cpu

#endif  // NORMGRAD_CORE_CPU_SOFTMAX_H_
