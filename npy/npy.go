// Package npy writes NumPy .npy files (format version 1.0), so that golden
// vectors open with numpy.load in any testbench or notebook.
package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Element types and their NumPy descriptors (little-endian).
type elem interface {
	~int8 | ~uint8 | ~int32 | ~int64 | ~float32
}

func descr[T elem]() string {
	var z T
	switch any(z).(type) {
	case int8:
		return "|i1"
	case uint8:
		return "|u1"
	case int32:
		return "<i4"
	case int64:
		return "<i8"
	case float32:
		return "<f4"
	}
	return ""
}

// Write writes data, a C-order array of the given shape, as a .npy file.
func Write[T elem](w io.Writer, shape []int, data []T) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		n *= d
	}
	if n != len(data) {
		return fmt.Errorf("npy: %d values for shape %v", len(data), shape)
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr[T](), tuple)
	// Magic (6) + version (2) + length (2) + header + '\n', padded with
	// spaces to a multiple of 64 bytes.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	if _, err := io.WriteString(w, "\x93NUMPY\x01\x00"); err != nil {
		return err
	}
	if err := binary.Write(w, binary.LittleEndian, uint16(len(header))); err != nil {
		return err
	}
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, data)
}
