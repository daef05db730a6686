package wal

import (
	"errors"
	"fmt"
	"io"
)

// Dump writes one line per record of the log read from r: offset, kind and
// payload length, and the height of end-of-height markers. It only reads, so
// it is safe on a log that Open would refuse or truncate. It stops at the
// first bad record, prints it and returns its error.
func Dump(r io.Reader, w io.Writer, maxRecordSize int) error {
	d := NewDecoder(r, maxRecordSize)
	for {
		rec, err := d.Decode()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			_, _ = fmt.Fprintf(w, "offset=%d error: %v\n", d.Offset(), err)
			return fmt.Errorf("wal: dump: %w", err)
		}
		line := fmt.Sprintf("offset=%d kind=%d len=%d", rec.Offset, rec.Kind, len(rec.Payload))
		if h, ok := rec.EndHeight(); ok {
			line += fmt.Sprintf(" end-height=%d", h)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return fmt.Errorf("wal: dump: %w", err)
		}
	}
}
