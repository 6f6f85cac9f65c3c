package metrics

// Box is an axis-aligned box from corner (X1, Y1) to corner (X2, Y2), in
// continuous coordinates: width X2−X1, height Y2−Y1, no +1.
type Box struct {
	X1, Y1, X2, Y2 float64
}

// XYWH is the box with corner (x, y), width w and height h (the
// [x y width height] form of MATLAB and of many annotation files).
func XYWH(x, y, w, h float64) Box {
	return Box{X1: x, Y1: y, X2: x + w, Y2: y + h}
}

// InclusivePixels is the box covering pixel columns x1 to x2 and rows y1
// to y2, both ends included: Box{x1, y1, x2 + 1, y2 + 1}. This is the
// PASCAL VOC convention (its devkit computes widths as x2 − x1 + 1); IoU of
// boxes made with it equals the devkit's.
func InclusivePixels(x1, y1, x2, y2 float64) Box {
	return Box{X1: x1, Y1: y1, X2: x2 + 1, Y2: y2 + 1}
}

// Area is the box's area, 0 for an empty box.
func (b Box) Area() float64 {
	return max(0, b.X2-b.X1) * max(0, b.Y2-b.Y1)
}

// intersect is the overlap of a and b (possibly empty).
func intersect(a, b Box) Box {
	return Box{X1: max(a.X1, b.X1), Y1: max(a.Y1, b.Y1), X2: min(a.X2, b.X2), Y2: min(a.Y2, b.Y2)}
}

// IoU is the area of a ∩ b over the area of a ∪ b, in [0, 1]; 0 when the
// union is empty.
func IoU(a, b Box) float64 {
	inter := intersect(a, b).Area()
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}
