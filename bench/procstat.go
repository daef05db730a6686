package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrProcFormat is wrapped by errors about /proc files that cannot be read.
var ErrProcFormat = errors.New("bench: unexpected /proc format")

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's resource use.
type ProcSample struct {
	CPUSeconds float64 // user + system
	RSSBytes   int64   // VmRSS
	HWMBytes   int64   // VmHWM, the peak resident set
}

// ReadProc reads /proc/PID/stat and /proc/PID/status.
func ReadProc(pid int) (ProcSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("bench: %w", err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("bench: %w", err)
	}
	cpu, err := parseStatCPU(string(stat))
	if err != nil {
		return ProcSample{}, err
	}
	s := ProcSample{CPUSeconds: cpu}
	if s.RSSBytes, err = parseStatusKB(string(status), "VmRSS"); err != nil {
		return ProcSample{}, err
	}
	if s.HWMBytes, err = parseStatusKB(string(status), "VmHWM"); err != nil {
		return ProcSample{}, err
	}
	return s, nil
}

// parseStatCPU returns utime+stime in seconds from the text of
// /proc/PID/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat has no command name", ErrProcFormat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: stat has %d fields", ErrProcFormat, len(f)+2)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%w: stat utime/stime: %v", ErrProcFormat, err)
	}
	return float64(ut+st) / clockTicks, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line of
// /proc/PID/status in bytes.
func parseStatusKB(status, key string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: status %s: %q", ErrProcFormat, key, strings.TrimSpace(rest))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: status %s: %q", ErrProcFormat, key, f[0])
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("%w: status has no %s", ErrProcFormat, key)
}

// DiskUsage returns the bytes allocated on disk to the files under dir
// (like du; it counts preallocated space, such as Pebble's 4 MiB WAL files)
// and their apparent size (the bytes written). Allocated falls back to the
// apparent size where the block count is unavailable.
func DiskUsage(dir string) (allocated, apparent int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking (compactions)
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		apparent += info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		} else {
			allocated += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("bench: disk usage of %s: %w", dir, err)
	}
	return allocated, apparent, nil
}
