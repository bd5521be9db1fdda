// Package nn is Sluice's neural post-classifier: a small multilayer
// perceptron over the symbol vector, its weights file, its training and
// the watcher that keeps the newest file in service. Beyond the standard
// library it uses golang.org/x/sys/unix for inotify.
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
// balanced by weighting each sample by the inverse of its class's share,
// and ham weighted HamCost (20) times more on top: a false positive costs
// 20 false negatives. 20% of each class is held out, training stops when
// the held-out loss has not improved for 20 epochs and keeps the best
// weights. Initial weights, the split and the minibatch order come from a
// PCG seeded by TrainOptions.Seed: the same data and seed give the same
// network. Train averages Members (9) networks of seeds Seed, Seed+1, …
// into one (hidden layers side by side), each of at most 16 hidden units
// by default (DefaultMembers, DefaultMaxHidden say why).
//
// # Offset
//
// A network with the input OffsetInput ("bayes:score", the Bayes symbol's
// score) is trained with that input as its offset: the output unit adds
// it before the loss, so the network learns what Bayes misses, and
// LogOdds is the log-odds to add to the Bayes score — which the scanner
// does, unclipped (NEURAL_SPAM / NEURAL_HAM). Measured reasons and
// figures: bench/README.md.
//
// # Shrinkage
//
// Such a network is then scaled by what held-out data support: Train cuts
// the samples into ShrinkFolds (4) folds, trains the same recipe on all
// but one and predicts it, and multiplies the final network's output
// weights by the factor of {0, ¼, ½, ¾, 1} under which offset + Weight ×
// factor × log-odds ranks the held-out samples best (Report.Shrink). A
// network that does not beat its offset on samples it did not see gets 0
// and adds nothing; the held-out log-odds (Report.HeldOut) are the
// out-of-sample scores thresholds are chosen on. It costs ShrinkFolds
// more trainings.
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
// # Loading: private memory, not a mapping
//
// Load reads the file into memory the network owns and validates it
// there; on a little-endian host the weight slices are views of that
// buffer (no second copy). Until December 2026 Load mapped the file and
// used the mapping in place. That left the network in service at the
// mercy of the file: a NaN written into it in place passed no check (the
// watcher refused the new contents, but the network in service read the
// same pages) and reached every verdict, and a truncation in place made a
// read past the new end raise SIGBUS in Forward. The alternatives were
// re-validating the mapping (a CRC over the weights before each use: a
// cost per message for a file that changes once per publication) and
// copying on load. Reading is copying on load, done once per publication,
// and it costs what the mapping did: for a 100×150 network (60 KB; real
// ones are smaller), interleaved runs of BenchmarkLoad on the shared
// 2-core machine gave 96–255 µs per load mapped and 90–244 µs read into
// private memory (the machine's noise is larger than the difference),
// against 160–450 µs for mapping then copying and 180–360 µs for reading
// then Unmarshal's second copy (go test -run '^$' -bench Load ./nn, old
// and new code). The file's pages are no longer shared between processes,
// which at these sizes does not matter.
//
// Save still replaces the file by renaming a new one over it, so that a
// reader sees the old file or the new one; a file changed in place is
// simply read again by the next Load, which refuses it if it is invalid
// (checksum, sizes, non-finite weights).
//
// # Reloading
//
// A Watcher loads the file at start and, on Linux, watches its directory
// with inotify (IN_CLOSE_WRITE, IN_MOVED_TO for the file's name; a queue
// overflow reloads too); elsewhere it polls once a second. The new file is
// read and validated, and the network swapped in with an atomic pointer,
// so a scan that already took the old one finishes with it; a file that
// fails validation is logged and refused, and the previous network, which
// does not share memory with the file, stays in service unchanged. The
// caller owns the goroutine that runs Watcher.Run, which returns when its
// context ends.
package nn
