#ifndef NORMGRAD_EXAMPLES_CIFAR10_INTERRUPT_H_
#define NORMGRAD_EXAMPLES_CIFAR10_INTERRUPT_H_

namespace normgrad::cifar10 {

// Ctrl-C handling for a training loop that must not lose its work: the first SIGINT only sets a flag,
// which the loop reads after each batch to save a checkpoint and return; a second SIGINT ends the process
// at once (the default action), for a loop that is stuck.
void InstallInterruptHandler();
bool InterruptRequested();
// Forgets an earlier request and re-arms the handler.
void ClearInterrupt();

}  // namespace normgrad::cifar10

#endif  // NORMGRAD_EXAMPLES_CIFAR10_INTERRUPT_H_
