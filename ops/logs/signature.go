package logs

import (
	"crypto/sha256"
	"encoding/hex"
)

// Signature names a group the same way on every host, in every opsui
// process and in the store: a hash of what its occurrences share (the key
// holds NUL bytes, which PostgreSQL's text refuses).
func (g Group) Signature() string {
	sum := sha256.Sum256([]byte(g.Key))
	return hex.EncodeToString(sum[:12])
}
