package privval

import "crypto/ed25519"

// ReadPrivateKey reads and checks the key file and returns the raw private
// key, with no double-sign guard around it. It exists only for the
// engine's test-only Byzantine modes, which sign conflicting messages on
// purpose; everything else signs through FilePV.
func ReadPrivateKey(keyPath string) (ed25519.PrivateKey, error) {
	return readKey(keyPath)
}
