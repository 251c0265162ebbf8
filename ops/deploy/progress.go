package deploy

// batchStarted records that batch n (from 1) of the plan's batches is
// starting, for teammates who watch the run (their presence line, a
// followed run): the recorder writes it off this goroutine.
func (r *runner) batchStarted(n int) {
	if r.rec != nil {
		r.rec.Batch(n, len(r.plan.Batches))
	}
}
