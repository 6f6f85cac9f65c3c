package metrics

import (
	"errors"
	"fmt"
	"math"
)

// MSE is the mean squared difference of img and ref, computed in float64.
func MSE[S Score](img, ref []S) (float64, error) {
	if len(img) != len(ref) {
		return 0, fmt.Errorf("metrics: image of %d samples against a reference of %d", len(img), len(ref))
	}
	if len(img) == 0 {
		return 0, errors.New("metrics: empty image")
	}
	sum := 0.0
	for i := range img {
		d := float64(img[i]) - float64(ref[i])
		sum += d * d
	}
	return sum / float64(len(img)), nil
}

// PSNR is the peak signal-to-noise ratio of img against ref in dB,
// 10·log10(peak²/MSE), where peak is the dynamic range of the samples (255
// for 8-bit images, 1 for floats in [0, 1]). Identical images give +Inf.
// Color images are flattened: every channel of every pixel is one sample.
func PSNR[S Score](img, ref []S, peak float64) (float64, error) {
	if !(peak > 0) || math.IsInf(peak, 1) {
		return 0, fmt.Errorf("metrics: PSNR peak %g", peak)
	}
	mse, err := MSE(img, ref)
	if err != nil {
		return 0, err
	}
	if mse == 0 {
		return math.Inf(1), nil
	}
	return 10 * math.Log10(peak*peak/mse), nil
}

// PSNR8 is the PSNR of 8-bit images (peak 255).
func PSNR8(img, ref []uint8) (float64, error) {
	return PSNR(img, ref, 255)
}
