package sim

import (
	"os"
	"syscall"
)

// pipeSize is what a session asks for its pipes: megabytes of stimulus and
// results pass through them, and Linux's default 64 KiB pipe costs a
// context switch per 64 KiB.
const pipeSize = 1 << 20

// growPipe enlarges a pipe's buffer where the system allows it (the limit
// is /proc/sys/fs/pipe-max-size); failure only costs speed.
func growPipe(f *os.File) {
	const fSetPipeSize = 1031 // F_SETPIPE_SZ
	if c, err := f.SyscallConn(); err == nil {
		c.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, pipeSize)
		})
	}
}
