package mbox

import (
	"fmt"
	"io"
)

// ReadAll reads r to its end (a pipe's writer must never block on its
// reader), keeping at most max bytes: memory is bounded whatever arrives.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max))
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if int64(len(data)) == max {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
	}
	return data, nil
}

// WalkInput calls fn for each message named by paths (Walk); no paths
// means the messages of stdin (one message or an mbox, named "-"), read
// with ReadAll up to max bytes.
func WalkInput(stdin io.Reader, max int64, paths []string, fn func(name string, msg []byte) error) error {
	if len(paths) > 0 {
		return Walk(paths, fn)
	}
	data, err := ReadAll(stdin, max)
	if err != nil {
		return err
	}
	return Split("-", data, fn)
}
