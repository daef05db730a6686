package wal

// WriteEndHeightNoSync appends the end-of-height marker for height like
// WriteEndHeight, but leaves it buffered instead of fsyncing it: the next
// WriteSync, Sync or rotation makes it durable, and since records reach the
// file in order, no later record is ever durable without it. Use it when
// losing the marker in a crash is harmless because recovery writes it again:
// the consensus engine's marker follows the block store's synced batch for
// the height, so after a crash that lost it ReplayFrom(height+1) fails with
// ErrHeightNotFound and the engine, seeing the height stored, re-marks it.
// If the head segment has grown past Options.MaxFileSize, the marker is
// synced and the log rotated, as WriteEndHeight does.
func (w *WAL) WriteEndHeightNoSync(height int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.write(KindEndHeight, endHeightPayload(height)); err != nil {
		return err
	}
	if w.maxFile > 0 && w.size >= w.maxFile {
		if err := w.sync(); err != nil {
			return err
		}
		return w.rotate(height)
	}
	return nil
}
