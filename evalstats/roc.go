package evalstats

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	fixedpt "golang.org/x/image/math/fixed"
)

// PlotROC draws the ROC curve of samples as a PNG image into w, with the
// false-positive cap maxFPR marked. The false-positive axis is
// logarithmic (0.01% to 100%): for a spam filter the curve's left end,
// where hardly any ham is lost, is the part that matters.
func PlotROC(w io.Writer, samples []Sample, maxFPR float64) error {
	curve := ROC(samples)
	if curve == nil {
		return fmt.Errorf("roc: need both spam and ham samples")
	}
	rep := Compute(samples, math.Inf(1), maxFPR)
	const W, H, left, right, top, bottom = 720, 560, 70, 20, 40, 60
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	const minX = -4.0 // log10 of the smallest FP rate shown
	xOf := func(fpr float64) float64 {
		lx := math.Log10(math.Max(fpr, math.Pow(10, minX)))
		return left + (lx-minX)/(-minX)*pw
	}
	yOf := func(tpr float64) float64 { return top + (1-tpr)*ph }

	grid := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	ink := color.RGBA{0x33, 0x33, 0x33, 0xff}
	for e := minX; e <= 0; e++ {
		x := xOf(math.Pow(10, e))
		line(img, x, top, x, top+ph, grid)
		drawText(img, int(x)-16, H-bottom+18, fmt.Sprintf("%g%%", 100*math.Pow(10, e)), ink)
	}
	for t := 0.0; t <= 1.0001; t += 0.1 {
		y := yOf(t)
		line(img, left, y, left+pw, y, grid)
		drawText(img, left-40, int(y)+4, fmt.Sprintf("%.0f%%", 100*t), ink)
	}
	line(img, left, top, left, top+ph, ink)
	line(img, left, top+ph, left+pw, top+ph, ink)
	mark := color.RGBA{0xcc, 0x33, 0x33, 0xff}
	line(img, xOf(maxFPR), top, xOf(maxFPR), top+ph, mark)

	blue := color.RGBA{0x1f, 0x5f, 0xbf, 0xff}
	px, py := xOf(curve[0].FPR), yOf(curve[0].TPR)
	for _, p := range curve[1:] {
		// A ROC curve is a staircase: across, then up.
		x, y := xOf(p.FPR), yOf(p.TPR)
		thick(img, px, py, x, py, blue)
		thick(img, x, py, x, y, blue)
		px, py = x, y
	}
	drawText(img, left, 22, fmt.Sprintf("ROC: %d spam, %d ham; (1-AUC)%% = %.4f; FN at FP<=0.1%% = %.2f%%",
		rep.Spam, rep.Ham, rep.OneMinusAUCPercent, 100*rep.FNRateAtFPR), ink)
	drawText(img, left+int(pw)/2-120, H-18, "false positives (ham called spam), log scale", ink)
	drawText(img, 4, top-8, "spam caught", ink)

	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("roc: %w", err)
	}
	return nil
}

// line draws a one-pixel line by sampling along its length.
func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.Color) {
	n := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		img.Set(int(x0+(x1-x0)*t+0.5), int(y0+(y1-y0)*t+0.5), c)
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 float64, c color.Color) {
	for d := -1.0; d <= 1; d++ {
		line(img, x0+d, y0, x1+d, y1, c)
		line(img, x0, y0+d, x1, y1+d, c)
	}
}

func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixedpt.P(x, y)}
	d.DrawString(s)
}

// WritePlotROC draws the ROC curve of samples into the PNG file at path.
func WritePlotROC(path string, samples []Sample, maxFPR float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := PlotROC(f, samples, maxFPR); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
