package main

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// plottedStyles are the pruning styles the plot draws, each a line from
// the dense model through its models in order of sparsity.
var plottedStyles = []struct {
	style pruneStyle
	color color.RGBA
	shape draw.GlyphDrawer
}{
	{styleMagnitude, color.RGBA{R: 31, G: 119, B: 180, A: 255}, draw.CircleGlyph{}},
	{styleStructured, color.RGBA{R: 214, G: 39, B: 40, A: 255}, draw.TriangleGlyph{}},
	{stylePattern, color.RGBA{R: 44, G: 160, B: 44, A: 255}, draw.SquareGlyph{}},
	{styleTile, color.RGBA{R: 148, G: 103, B: 189, A: 255}, draw.PyramidGlyph{}},
	{styleArray, color.RGBA{R: 255, G: 127, B: 14, A: 255}, draw.CrossGlyph{}},
}

// sparsityPlot draws top-1 accuracy (left) and RTL cycles relative to the
// dense model (right, with the MAC ratio dashed: the proportional ideal)
// against sparsity, one line per pruning style; the file's extension picks
// PNG or SVG. Sparsity is the share of the MACs that multiply a zero
// weight: unlike the share of zero weights it counts a convolution's
// weights as often as they are used, so pattern-pruned kernels show.
func sparsityPlot(path string, rows []sparsityRow, base sparsityRow, cycles bool) error {
	acc, cyc := plot.New(), plot.New()
	acc.Title.Text = fmt.Sprintf("top-1 on %d MNIST test images, int8 golden model", base.n)
	if cycles {
		acc.Title.Text = fmt.Sprintf("top-1 on %d MNIST test images, int8 (RTL and golden model agree bit for bit)", base.n)
	}
	acc.X.Label.Text = "MACs on a zero weight (%)"
	acc.Y.Label.Text = "top-1 (%)"
	cyc.Title.Text = "RTL cycles per image, relative to the dense model"
	cyc.X.Label.Text = "MACs on a zero weight (%)"
	cyc.Y.Label.Text = "cycles / dense cycles (dashed: MACs / dense MACs)"
	acc.Add(plotter.NewGrid())
	cyc.Add(plotter.NewGrid())
	for _, ps := range plottedStyles {
		var a, c, ideal plotter.XYs
		x0 := 100 * base.macSparsity()
		a = append(a, plotter.XY{X: x0, Y: 100 * float64(base.rep.GoldenTop1) / float64(base.n)})
		c = append(c, plotter.XY{X: x0, Y: 1})
		ideal = append(ideal, plotter.XY{X: x0, Y: 1})
		var group []sparsityRow
		for _, r := range rows {
			if r.style == ps.style {
				group = append(group, r)
			}
		}
		if len(group) == 0 {
			continue
		}
		// In order of sparsity, so each style is one line.
		for i := 1; i < len(group); i++ {
			for j := i; j > 0 && group[j].macSparsity() < group[j-1].macSparsity(); j-- {
				group[j], group[j-1] = group[j-1], group[j]
			}
		}
		for _, r := range group {
			x := 100 * r.macSparsity()
			a = append(a, plotter.XY{X: x, Y: 100 * float64(r.rep.GoldenTop1) / float64(r.n)})
			if cycles {
				c = append(c, plotter.XY{X: x, Y: r.cyclesPerImage() / base.cyclesPerImage()})
			}
			ideal = append(ideal, plotter.XY{X: x, Y: float64(r.kept) / float64(base.macs)})
		}
		name := ps.style.String()
		if err := addLine(acc, a, ps.color, ps.shape, false, name); err != nil {
			return err
		}
		if cycles {
			if err := addLine(cyc, c, ps.color, ps.shape, false, name); err != nil {
				return err
			}
		}
		if err := addLine(cyc, ideal, ps.color, ps.shape, true, ""); err != nil {
			return err
		}
	}
	acc.Legend.Left = true // bottom left: away from the lines
	cyc.Legend.Left = true
	cyc.Y.Min, cyc.Y.Max = 0, 1.1
	acc.X.Min, cyc.X.Min = 0, 0
	acc.X.Max, cyc.X.Max = 100, 100
	return savePlots(path, []*plot.Plot{acc, cyc}, 13*vg.Inch, 5*vg.Inch)
}

// addLine adds a line with points, dashed when ideal; a named line gets a
// legend entry.
func addLine(p *plot.Plot, xy plotter.XYs, c color.RGBA, shape draw.GlyphDrawer, dashed bool, name string) error {
	line, points, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	line.LineStyle.Color = c
	line.LineStyle.Width = vg.Points(1.5)
	points.GlyphStyle.Color = c
	points.GlyphStyle.Shape = shape
	points.GlyphStyle.Radius = vg.Points(3.5)
	if dashed {
		line.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		line.LineStyle.Width = vg.Points(1)
		points.GlyphStyle.Radius = vg.Points(2)
	}
	p.Add(line, points)
	if name != "" {
		p.Legend.Add(name, line, points)
	}
	return nil
}

// savePlots draws plots side by side into path (.png or .svg).
func savePlots(path string, plots []*plot.Plot, w, h vg.Length) error {
	var canvas vg.CanvasWriterTo
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	case ".svg":
		canvas = vgsvg.New(w, h)
	default:
		return fmt.Errorf("%s: want .png or .svg", path)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	grid := [][]*plot.Plot{plots}
	for i, c := range plot.Align(grid, tiles, dc)[0] {
		plots[i].Draw(c)
	}
	return writeFileAtomic(path, func(f io.Writer) error {
		_, err := canvas.WriteTo(f)
		return err
	})
}
