package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// IDX is the file format of MNIST: a magic number whose third byte is the
// element type (0x08, unsigned byte, is the only one used here) and whose
// fourth is the number of dimensions, the dimensions as big-endian uint32,
// then the elements in row-major order. Files may be gzipped.

// maxIDXElements bounds what a header may announce, so a corrupt file
// fails with a message instead of an allocation of gigabytes.
const maxIDXElements = 1 << 30

// readIDX reads an unsigned-byte IDX file (gzipped when its name ends in
// .gz) and returns its dimensions and data.
func readIDX(path string) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	dims, data, err := parseIDX(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return dims, data, nil
}

func parseIDX(r io.Reader) ([]int, []byte, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, nil, errors.New("truncated IDX header")
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, nil, fmt.Errorf("not an IDX file (magic % x)", magic)
	}
	if magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("IDX element type 0x%02x, want 0x08 (unsigned byte)", magic[2])
	}
	nd := int(magic[3])
	if nd < 1 || nd > 4 {
		return nil, nil, fmt.Errorf("IDX file with %d dimensions", nd)
	}
	dims := make([]int, nd)
	n := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, errors.New("truncated IDX header")
		}
		dims[i] = int(d)
		if d == 0 || n > maxIDXElements/int(d) {
			return nil, nil, fmt.Errorf("IDX dimensions %v are empty or too large", dims[:i+1])
		}
		n *= int(d)
	}
	// Read what is there rather than allocate what the header claims: a
	// corrupt 16-byte file may announce a gigabyte.
	data, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil || len(data) != n {
		return nil, nil, fmt.Errorf("truncated IDX data: want %d bytes", n)
	}
	return dims, data, nil
}
