package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// EnvHash is the keyed hash of one value rendered into a host's
// shared/.env: never the value itself.
type EnvHash struct {
	Host string `db:"host"`
	Name string `db:"name"`
	Hash string `db:"hash"`
	// Secret names the secret the value came from; "" for a plain value.
	Secret     string `db:"secret"`
	RenderedAt string `db:"rendered_at"`
}

// EnvHashKey returns the database's key for hashing environment values,
// made (32 random bytes) the first time it is asked for. Every opsui of a
// team sharing the database hashes with the same key, so their hashes
// compare; a hash without the key says nothing of a short secret.
func (s *Store) EnvHashKey(ctx context.Context) ([]byte, error) {
	var key string
	err := s.get(ctx, s.db, &key, `SELECT hash_key FROM env_hash_key WHERE id = 1`)
	if errors.Is(err, ErrNotFound) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("env hash key: %w", err)
		}
		// Two opsui making it at once: the first one's stays.
		if _, err := s.exec(ctx, s.db, `INSERT INTO env_hash_key (id, hash_key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, hex.EncodeToString(b)); err != nil {
			return nil, fmt.Errorf("env hash key: %w", err)
		}
		err = s.get(ctx, s.db, &key, `SELECT hash_key FROM env_hash_key WHERE id = 1`)
	}
	if err != nil {
		return nil, fmt.Errorf("env hash key: %w", err)
	}
	return hex.DecodeString(key)
}

// SaveEnvHashes replaces what is recorded as rendered on host for app in
// env with hashes.
func (s *Store) SaveEnvHashes(ctx context.Context, app, env, host string, hashes []EnvHash) error {
	now := time.Now().UTC().Format(time.RFC3339)
	err := s.Transaction(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM env_hashes WHERE app = ? AND env = ? AND host = ?`, app, env, host); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := s.exec(ctx, tx, `INSERT INTO env_hashes (app, env, host, name, hash, secret, rendered_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				app, env, host, h.Name, h.Hash, h.Secret, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save env hashes of %s/%s on %s: %w", app, env, host, err)
	}
	return nil
}

// EnvHashes returns what was last rendered for app in env, host by host
// and name by name.
func (s *Store) EnvHashes(ctx context.Context, app, env string) ([]EnvHash, error) {
	var out []EnvHash
	if err := s.sel(ctx, s.db, &out, `SELECT host, name, hash, secret, rendered_at FROM env_hashes WHERE app = ? AND env = ? ORDER BY host, name`, app, env); err != nil {
		return nil, fmt.Errorf("env hashes of %s/%s: %w", app, env, err)
	}
	return out, nil
}
