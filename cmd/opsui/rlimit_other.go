//go:build !unix

package main

import "io"

// raiseFDLimit does nothing where there is no RLIMIT_NOFILE.
func raiseFDLimit(io.Writer) {}
