//go:build unix

package fpga

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the tool in its own process group and makes
// cancellation kill the group, so no tool outlives a run.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
