package metrics

import (
	"math"
	"testing"
)

func TestPSNRPublished(t *testing.T) {
	scaled := func(x []float64, f float64) []float64 {
		y := make([]float64, len(x))
		for i := range x {
			y[i] = x[i] * f
		}
		return y
	}
	tev := []float64{0.1, 0.2, 0.3, 0.4}
	colour := []float64{0.48222001, 0.31654775, 0.22070353}
	tests := []struct {
		desc     string
		img, ref []float64
		peak     float64
		want     float64
		tol      float64 // half a unit of the published last digit
	}{
		{
			// torchmetrics v1.0 documentation, peak_signal_noise_ratio:
			// pred [[0, 1], [2, 3]], target [[3, 2], [1, 0]] gives
			// tensor(2.5527). data_range defaults to the target's
			// max − min = 3; MSE = (9 + 1 + 1 + 9)/4 = 5;
			// 10·log10(9/5) = 2.5527.
			desc: "torchmetrics",
			img:  []float64{0, 1, 2, 3}, ref: []float64{3, 2, 1, 0},
			peak: 3, want: 2.5527, tol: 0.00005,
		},
		{
			// TorchEval documentation, peak_signal_noise_ratio: input
			// [[0.1, 0.2], [0.3, 0.4]], target = input × 0.9 gives
			// tensor(19.8767). data_range defaults to the target's
			// max − min = 0.36 − 0.09 = 0.27; MSE = (0.01² + 0.02² + 0.03²
			// + 0.04²)/4 = 0.00075; 10·log10(0.0729/0.00075) = 19.8767.
			desc: "TorchEval",
			img:  tev, ref: scaled(tev, 0.9),
			peak: 0.27, want: 19.8767, tol: 0.00005,
		},
		{
			// MindSpore documentation, mindspore.nn.PSNR (max_val 1):
			// img1 [[1, 2, 3, 4], [1, 2, 3, 4]], img2 = img1 + 2 prints
			// [-6.0206]: MSE = 4, 10·log10(1/4) = −6.0206.
			desc: "MindSpore",
			img:  []float64{1, 2, 3, 4, 1, 2, 3, 4}, ref: []float64{3, 4, 5, 6, 3, 4, 5, 6},
			peak: 1, want: -6.0206, tol: 0.00005,
		},
		{
			// colour-science documentation, colour.utilities.metric_psnr:
			// a = [0.48222001, 0.31654775, 0.22070353], b = a × 0.9,
			// max_a = 1 gives 28.9568515... .
			desc: "colour-science",
			img:  scaled(colour, 0.9), ref: colour,
			peak: 1, want: 28.9568515, tol: 0.0000001,
		},
	}
	for _, tc := range tests {
		got, err := PSNR(tc.img, tc.ref, tc.peak)
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: PSNR = %.7f dB, published %v", tc.desc, got, tc.want)
		}
	}
}

func TestPSNR8(t *testing.T) {
	tests := []struct {
		desc     string
		img, ref []uint8
		want     float64
		tol      float64
	}{
		{
			// By hand: differences 2, 0, −3, 0; MSE = (4 + 0 + 9 + 0)/4 =
			// 3.25; 10·log10(255²/3.25) = 10·log10(65025/3.25) =
			// 10·log10(20007.6923) = 43.0120 dB.
			desc: "2x2",
			img:  []uint8{54, 55, 58, 59}, ref: []uint8{52, 55, 61, 59},
			want: 43.0120, tol: 0.00005,
		},
		{
			// Every sample off by one: MSE = 1, PSNR = 20·log10(255) =
			// 48.1308 dB, the highest finite PSNR of 8-bit images.
			desc: "off by one",
			img:  []uint8{0, 1, 254, 255}, ref: []uint8{1, 0, 255, 254},
			want: 48.1308, tol: 0.00005,
		},
		{
			// Black against white: MSE = 255², PSNR = 0 dB.
			desc: "black and white",
			img:  []uint8{0, 0}, ref: []uint8{255, 255},
			want: 0, tol: 1e-12,
		},
		{
			desc: "identical",
			img:  []uint8{7, 8, 9}, ref: []uint8{7, 8, 9},
			want: math.Inf(1),
		},
	}
	for _, tc := range tests {
		got, err := PSNR8(tc.img, tc.ref)
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		if math.IsInf(tc.want, 1) {
			if !math.IsInf(got, 1) {
				t.Errorf("%s: PSNR = %v, want +Inf", tc.desc, got)
			}
			continue
		}
		if math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: PSNR = %.6f dB, want %.4f", tc.desc, got, tc.want)
		}
	}

	// int8 tensors (range −128..127, peak 255): differences 1, 0; MSE =
	// 0.5; 10·log10(65025/0.5) = 51.1411 dB.
	got, err := PSNR([]int8{-128, 127}, []int8{-127, 127}, 255)
	if err != nil || math.Abs(got-51.1411) > 0.00005 {
		t.Errorf("int8: PSNR = %.6f, %v; want 51.1411", got, err)
	}
}

func TestPSNRErrors(t *testing.T) {
	for _, tc := range []struct {
		desc     string
		img, ref []float64
		peak     float64
	}{
		{"longer image", []float64{1, 2}, []float64{1}, 1},
		{"shorter image", []float64{1}, []float64{1, 2}, 1},
		{"empty", nil, nil, 1},
		{"zero peak", []float64{1}, []float64{2}, 0},
		{"negative peak", []float64{1}, []float64{2}, -1},
		{"NaN peak", []float64{1}, []float64{2}, math.NaN()},
		{"infinite peak", []float64{1}, []float64{2}, math.Inf(1)},
	} {
		if got, err := PSNR(tc.img, tc.ref, tc.peak); err == nil {
			t.Errorf("%s: PSNR = %v, want an error", tc.desc, got)
		}
	}
	if mse, err := MSE([]uint8{0, 255}, []uint8{255, 0}); err != nil || mse != 65025 {
		t.Errorf("MSE = %v, %v; want 65025", mse, err)
	}
}
