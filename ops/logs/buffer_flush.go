package logs

// Flush ends every traceback still being collected, so that a read that
// is over (opsui logs --errors) counts it.
func (b *Buffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.agg.Flush()
}
