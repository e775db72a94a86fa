// Command pause is the sandbox ("pause") container of the local kubelet nodes: it holds the pod's
// namespaces, reaps zombies (it is PID 1 of a pod that shares its PID namespace) and exits with
// status 0 on SIGTERM or SIGINT. Built static (CGO_ENABLED=0) by tools/localkube/images.py.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		// One SIGCHLD may stand for several exited children: reap until none is left.
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
