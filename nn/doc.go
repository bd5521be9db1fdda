// Package nn is Sluice's neural post-classifier: a small multilayer
// perceptron over the symbol vector, its weights file, its training and
// the watcher that keeps the newest file in service. Beyond the standard
// library it uses github.com/edsrzf/mmap-go to map the file and
// golang.org/x/sys/unix for inotify.
//
// # The network
//
// Inputs are named: each rule's normalised strength, the Bayes
// probability and structural metatokens, all in [0, 1], with 0 for an
// absent symbol. The network stores its ordered input names, and a scanner
// fills the vector by name (Fill): a symbol the scanner does not have
// stays 0, a symbol the network does not know is ignored, so a network
// survives small changes of the rule set without a retrain storm.
// Topology: inputs → normalisation ((x - offset) × scale, from the
// training data's mean and standard deviation) → one hidden layer with
// ReLU → one tanh output in [-1, 1] (> 0 spam). Unlike rspamd's "symbol"
// network (ReLU on the inputs, a linear hidden layer: effectively
// logistic regression), the hidden layer is really nonlinear.
//
// # Training
//
// Train: cross-entropy on p = (1 + out)/2, Adam (β1 0.9, β2 0.999),
// minibatches of 32, L2 weight decay on weights (not biases). Classes are
// balanced by weighting each sample by the inverse of its class's share;
// 20% of each class is held out, training stops when the held-out loss has
// not improved for 20 epochs and keeps the best weights. Initial weights,
// the split and the minibatch order come from a PCG seeded by
// TrainOptions.Seed: the same data and seed give the same network.
// TrainOptions.Context, checked before every epoch, cancels a training
// (the learner's shutdown).
//
// # The file
//
// Flat, little-endian, every float aligned to 4 bytes:
//
//	off  size  field
//	0    8     magic "SLUICENN"
//	8    4     version (1)
//	12   4     header length H (bytes before the floats, multiple of 4)
//	16   4     inputs N
//	20   4     hidden units M
//	24   1     hidden activation (1 relu, 2 tanh)
//	25   1     output activation (2 tanh, 3 sigmoid)
//	26   2     reserved (0)
//	28   32    input digest: SHA-256 over the names sorted, each followed by "\n"
//	60   8     spam samples trained on
//	68   8     ham samples trained on
//	76   8     epoch (publications since this input set's network started)
//	84   8     creation time (Unix nanoseconds)
//	92   4     byte length of the names
//	96   8     total file length
//	104  ...   names in input order, each a length byte and the bytes (1 to 255)
//	H    ...   float32: offset[N], scale[N], W1[M][N], b1[M], W2[M], b2
//	end-4 4    CRC-32C of everything before it
//
// Load refuses, with an error wrapping ErrFormat, ErrVersion, ErrSize,
// ErrChecksum or ErrInvalid, any file that is not exactly what its header
// says: a wrong magic or version, a length that differs from the header's
// (truncated or appended to), a bad checksum, sizes over the limits, names
// that overrun, a digest that does not match the names, non-finite
// weights. Unmarshal applies the same checks to bytes in memory.
//
// # Mapping
//
// Load maps the file read-only (github.com/edsrzf/mmap-go) instead of
// reading it, and validates the mapping. The floats are stored in the
// order a little-endian machine keeps them in memory, and they start on a
// 4-byte boundary (a mapping starts on a page, the float area at the
// header length, a multiple of 4), so on a little-endian host the
// network's Offset, Scale, W1, B1 and W2 are slices of the mapping itself:
// nothing is copied, and the pages are shared with the page cache and
// with every other process that maps the file. On a big-endian host, or
// if the area were ever misaligned, Load decodes copies as Unmarshal does
// and unmaps the file at once; it unmaps a refused file at once too. Those
// slices are read-only memory: writing to them faults.
//
// A mapped network keeps its mapping for as long as it is reachable: a
// cleanup (runtime.AddCleanup) attached to the *Network unmaps the file
// once the garbage collector finds the network unreachable, so a scan
// that took the previous network from a Watcher can finish with it after
// the swap. Slices of the mapping are not Go pointers and do not keep the
// network alive; the methods that read them keep their receiver alive
// until they are done (runtime.KeepAlive), and a caller that reads the
// slices itself must hold the *Network meanwhile. Since the runtime
// collects at least every two minutes (unless collection is off), a
// replaced network's mapping, and the replaced file's blocks, are
// released within minutes of its last use.
//
// Replace the file only by renaming a new one over it. Save writes a
// temporary file in the same directory, fsyncs it, renames it into place
// and fsyncs the directory, so that readers see the old file or the new
// one, and a network mapped from the old file keeps its inode, which
// lives on, unlinked, while it is mapped. Rewriting the file in place
// (cp over it, or a write without rename) would instead change the
// weights under a network in service, and truncating it would make a read
// of a page past the new end fault with SIGBUS and kill the process. Load
// turns such a fault during its own validation into an ErrSize refusal
// (debug.SetPanicOnFault), but it cannot protect Forward afterwards.
//
// # Reloading
//
// A Watcher loads the file at start and, on Linux, watches its directory
// with inotify (IN_CLOSE_WRITE, IN_MOVED_TO for the file's name; a queue
// overflow reloads too); elsewhere it polls once a second. The new file is
// mapped and validated, and the network swapped in with an atomic pointer,
// so a scan that already took the old one finishes with it (its mapping
// stays until then); a file that fails validation is logged and refused,
// and the previous network stays in service. The caller owns the
// goroutine that runs Watcher.Run, which returns when its context ends.
package nn
