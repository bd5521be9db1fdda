package mmapstore

import (
	"errors"
	"fmt"
	"strings"
)

// These errors can occur when a statfile is opened (OpenReader, OpenWriter,
// Stat, Check). They are wrapped with the path; test with errors.Is.
var (
	// ErrLocked is returned by OpenWriter when another writer (in this or
	// another process) holds the lock file next to the statfile.
	ErrLocked = errors.New("mmapstore: statfile is locked by another writer")

	// ErrNotStatfile is returned when the file does not start with Magic.
	ErrNotStatfile = errors.New("mmapstore: not a statfile (bad magic)")

	// ErrChecksum is returned when the CRC32C of the static header does not
	// match the stored checksum.
	ErrChecksum = errors.New("mmapstore: header checksum mismatch")

	// ErrTruncated is returned when the file is shorter than its header says.
	ErrTruncated = errors.New("mmapstore: statfile is truncated")

	// ErrGeometry is returned when the header's slot size, capacities or
	// probe bound are impossible, or the file is longer than they say.
	ErrGeometry = errors.New("mmapstore: bad table geometry in header")

	// ErrParams is returned (as a *ParamsError) when the file was built with
	// other tokenizer parameters than the caller's.
	ErrParams = errors.New("mmapstore: tokenizer parameters differ")

	// ErrTotalsChecksum is returned by OpenWriter (and reported by Check
	// and Stat) when the learn totals (the shared totals in the header and
	// the namespace directory) do not match the checksum the writer keeps
	// with them: they were changed outside the writer. Scores computed on
	// such totals are wrong; `sluice fsck` says more.
	ErrTotalsChecksum = errors.New("mmapstore: learn totals do not match their checksum (changed outside the writer)")

	// ErrVersion is returned (as a *VersionError) for an unknown format version.
	ErrVersion = errors.New("mmapstore: unsupported format version")

	// ErrUnsupported is returned on platforms or byte orders this package
	// cannot map (the format is little-endian and read with native atomics).
	ErrUnsupported = errors.New("mmapstore: unsupported platform (needs a little-endian unix)")
)

// These errors concern the journal (path + ".journal").
var (
	// ErrJournalCorrupt is returned by OpenWriter and Check when the journal
	// header is not a Sluice journal, when records are out of sequence, or
	// when a bad record has good records after it (RepairJournal keeps
	// those). A torn tail (a bad last record, as a crash leaves it) is not
	// an error: it is dropped and logged. Moving the journal aside loses at
	// most the learns since the last checkpoint.
	ErrJournalCorrupt = errors.New("mmapstore: journal is corrupt")
)

// These errors can occur on a Writer or Reader in use.
var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("mmapstore: closed")

	// ErrFailed is returned (wrapping the original cause) by every Writer
	// method after an I/O error left the writer's state uncertain (a failed
	// fsync of the journal, a failed rename during growth). Close the writer
	// and open it again: the journal replay restores a consistent state.
	ErrFailed = errors.New("mmapstore: writer failed, reopen it")

	// ErrBadOp is returned by Apply for an Op with an unknown Class or a
	// Delta other than +1 or -1.
	ErrBadOp = errors.New("mmapstore: bad op")

	// ErrFull is returned by Apply only when one call carries more distinct
	// tokens than a table of Options.MaxBytes can hold, or when the
	// namespace directory no longer fits in MaxBytes. Otherwise learning
	// expires old tokens instead of failing.
	ErrFull = errors.New("mmapstore: statfile cannot hold this batch within MaxBytes")

	// ErrSizeMismatch is returned by Lookup when len(out) < len(hashes).
	ErrSizeMismatch = errors.New("mmapstore: out is shorter than hashes")
)

// ParamsError is returned when a statfile was built with other tokenizer
// parameters. Its message names every field that differs. It matches
// ErrParams with errors.Is.
type ParamsError struct {
	Path       string
	File, Want Params
}

func (e *ParamsError) Error() string {
	var d []string
	if e.File.Hash != e.Want.Hash {
		d = append(d, fmt.Sprintf("hash %q, tokenizer wants %q", e.File.Hash, e.Want.Hash))
	}
	if e.File.Seed != e.Want.Seed {
		d = append(d, fmt.Sprintf("seed %#x, tokenizer wants %#x", e.File.Seed, e.Want.Seed))
	}
	if e.File.Window != e.Want.Window {
		d = append(d, fmt.Sprintf("window %d, tokenizer wants %d", e.File.Window, e.Want.Window))
	}
	if e.File.Version != e.Want.Version {
		d = append(d, fmt.Sprintf("tokenizer version %d, tokenizer wants %d", e.File.Version, e.Want.Version))
	}
	return fmt.Sprintf("mmapstore: statfile %s was built with %s", e.Path, strings.Join(d, "; "))
}

// Is reports whether target is ErrParams.
func (e *ParamsError) Is(target error) bool { return target == ErrParams }

// VersionError is returned for a file of another format version. It matches
// ErrVersion with errors.Is.
type VersionError struct{ Got, Want uint32 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("mmapstore: format version %d, this build reads version %d", e.Got, e.Want)
}

// Is reports whether target is ErrVersion.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// CorruptError is returned by Check. It lists every problem found.
type CorruptError struct {
	Path     string
	Problems []error
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mmapstore: statfile %s is corrupt: %d problem(s)", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// lockedError carries the path in its message and unwraps to ErrLocked.
type lockedError struct{ path string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("mmapstore: statfile %s is locked by another writer", e.path)
}
func (e *lockedError) Unwrap() error { return ErrLocked }

// Unwrap returns the problems, so errors.Is finds sentinels among them.
func (e *CorruptError) Unwrap() []error { return e.Problems }
