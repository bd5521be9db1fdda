package evalstats

import (
	"bytes"
	"image/png"
	"testing"
)

func TestPlotROC(t *testing.T) {
	tests := []struct {
		name    string
		samples []Sample
		wantErr bool
	}{
		{"both classes", []Sample{{Spam: true, Score: 9}, {Spam: true, Score: 2}, {Spam: false, Score: 1}, {Spam: false, Score: 3}}, false},
		{"spam only", []Sample{{Spam: true, Score: 9}}, true},
		{"nothing", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := PlotROC(&b, tt.samples, 0.001)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			img, err := png.Decode(&b)
			if err != nil {
				t.Fatal(err)
			}
			if r := img.Bounds(); r.Dx() != 720 || r.Dy() != 560 {
				t.Fatalf("image %v", r)
			}
		})
	}
}
