package nn

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var writeGolden = flag.Bool("write-golden", false, "rewrite testdata/golden.nn from goldenNetwork (a format change: bump Version)")

// goldenNetwork is the network stored in testdata/golden.nn: two inputs,
// two hidden units, a distinct value in every field.
func goldenNetwork() *Network {
	in := []string{"a:x", "RULE_B"}
	return &Network{
		Inputs: in, Digest: InputDigest(in), Hidden: 2, HiddenAct: ReLU, OutAct: Tanh,
		Offset: []float32{0.25, -0.5}, Scale: []float32{2, 4},
		W1: []float32{1, 2, 3, 4}, B1: []float32{0.5, -0.5}, W2: []float32{1.5, -2.5}, B2: 0.125,
		SpamSamples: 1234, HamSamples: 5678, Epoch: 9, Created: time.Unix(0, 1700000000123456789),
	}
}

// TestGoldenFile reads a checked-in network file and checks it field by
// field at the offsets doc.go documents, reading the bytes itself rather
// than through decode; then that Load and Unmarshal give the network it
// holds, and that Marshal writes exactly these bytes. A reordered or
// resized header field, a change of the name encoding, the float order or
// the checksum fails here even though a round trip would still pass. A
// change here is a format change: bump Version.
func TestGoldenFile(t *testing.T) {
	path := filepath.Join("testdata", "golden.nn")
	if *writeGolden {
		b, err := goldenNetwork().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 172 {
		t.Fatalf("golden file is %d bytes, want 172 (116 of header and names, 13 floats, a checksum)", len(b))
	}
	le := binary.LittleEndian
	if string(b[0:8]) != "SLUICENN" {
		t.Errorf("magic %q", b[0:8])
	}
	names := sha256.Sum256([]byte("RULE_B\na:x\n")) // sorted, each followed by a newline
	for _, c := range []struct {
		name      string
		off, size int
		want      uint64
	}{
		{"version", 8, 4, 1}, {"header length", 12, 4, 116}, {"inputs", 16, 4, 2}, {"hidden", 20, 4, 2},
		{"hidden activation", 24, 1, 1}, {"output activation", 25, 1, 2}, {"reserved", 26, 2, 0},
		{"spam samples", 60, 8, 1234}, {"ham samples", 68, 8, 5678}, {"epoch", 76, 8, 9},
		{"created", 84, 8, 1700000000123456789}, {"names length", 92, 4, 11}, {"file length", 96, 8, 172},
		{"checksum", 168, 4, uint64(crc32.Checksum(b[:168], crc32.MakeTable(crc32.Castagnoli)))},
	} {
		var got uint64
		switch c.size {
		case 1:
			got = uint64(b[c.off])
		case 2:
			got = uint64(le.Uint16(b[c.off:]))
		case 4:
			got = uint64(le.Uint32(b[c.off:]))
		default:
			got = le.Uint64(b[c.off:])
		}
		if got != c.want {
			t.Errorf("%s at %d: got %d, want %d", c.name, c.off, got, c.want)
		}
	}
	if !bytes.Equal(b[28:60], names[:]) {
		t.Errorf("input digest at 28: %x, want %x", b[28:60], names)
	}
	if want := "\x03a:x\x06RULE_B\x00"; string(b[104:116]) != want {
		t.Errorf("names at 104: %q, want %q (length-prefixed, in input order, zero padding to 4)", b[104:116], want)
	}
	wantFloats := []float32{0.25, -0.5, 2, 4, 1, 2, 3, 4, 0.5, -0.5, 1.5, -2.5, 0.125} // offset, scale, W1, b1, W2, b2
	for i, w := range wantFloats {
		if got := math.Float32frombits(le.Uint32(b[116+4*i:])); got != w {
			t.Errorf("float %d at %d: got %v, want %v", i, 116+4*i, got, w)
		}
	}

	want := goldenNetwork()
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	unmarshaled, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*Network{"Load": loaded, "Unmarshal": unmarshaled} {
		if !slices.Equal(n.Inputs, want.Inputs) || n.Digest != want.Digest || n.Hidden != want.Hidden ||
			n.HiddenAct != want.HiddenAct || n.OutAct != want.OutAct || n.SpamSamples != want.SpamSamples ||
			n.HamSamples != want.HamSamples || n.Epoch != want.Epoch || !n.Created.Equal(want.Created) {
			t.Errorf("%s: header fields %+v, want %+v", name, n, want)
		}
		if !slices.Equal(n.Offset, want.Offset) || !slices.Equal(n.Scale, want.Scale) || !slices.Equal(n.W1, want.W1) ||
			!slices.Equal(n.B1, want.B1) || !slices.Equal(n.W2, want.W2) || n.B2 != want.B2 {
			t.Errorf("%s: weights %v %v %v %v %v %v", name, n.Offset, n.Scale, n.W1, n.B1, n.W2, n.B2)
		}
	}
	out, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, b) {
		t.Errorf("Marshal writes\n%x\nthe golden file holds\n%x", out, b)
	}
}
