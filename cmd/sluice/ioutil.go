package main

import (
	"fmt"
	"io"
)

// maxInput bounds one message read from stdin.
const maxInput = 64 << 20

// readAllLimited reads r to the end (a pipe's writer must never block on
// us), keeping at most maxInput bytes.
func readAllLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput))
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if len(data) == maxInput {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
	}
	return data, nil
}
