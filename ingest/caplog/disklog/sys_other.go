//go:build !linux

package disklog

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

// lockFile is a no-op outside Linux: hookscope's supported platform is
// Linux; elsewhere the caller must not open one directory twice.
func lockFile(*os.File) error { return nil }
