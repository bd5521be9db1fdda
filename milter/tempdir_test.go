package milter

import (
	"io"
	"log"
	"os"
	"testing"
)

// TestMain silences go-milter's global logger and removes the shared
// statfile directory after the tests.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard) // go-milter's own logging of broken sessions
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

var tempDirs []string

// tempDir is a directory that lives as long as the test binary (for the
// statfile every test shares).
func tempDir() (string, error) {
	d, err := os.MkdirTemp("", "sluice-milter-test-")
	if err == nil {
		tempDirs = append(tempDirs, d)
	}
	return d, err
}
