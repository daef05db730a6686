package light

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bftnode/bftnode/types"
)

// TrustOptions name the header the user trusts to begin with, obtained
// from a source they trust (a block explorer, a validator operator).
type TrustOptions struct {
	Height int64
	Hash   types.Hash
}

// ClientOptions configure a Client.
type ClientOptions struct {
	VerifyOptions
	// Sequential verifies every header in turn instead of skipping.
	Sequential bool
	// EvidenceDir is where the light blocks of a detected conflict are
	// written as JSON; "" keeps them only in the returned error.
	EvidenceDir string
	// PruningSize is how many verified blocks the store keeps (the
	// highest); 0 means DefaultPruningSize.
	PruningSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// DefaultVerifyOptions are CometBFT's defaults: a week's trusting period,
// trust level 1/3, 10 s of clock drift.
var DefaultVerifyOptions = VerifyOptions{TrustingPeriod: 168 * time.Hour, TrustLevel: DefaultTrustLevel, MaxClockDrift: 10 * time.Second}

// DefaultPruningSize is how many light blocks the store keeps by default,
// as in CometBFT.
const DefaultPruningSize = 1000

// Client errors.
var (
	ErrNoWitnesses = errors.New("light client needs at least one witness to cross-check the primary (--witnesses)")
	ErrTrustedHash = errors.New("trusted header does not match")
	ErrNoTrust     = errors.New("no trusted header: give the height and hash of a header you trust (--height, --hash)")
)

// Client is a verifying light client over a primary provider, with
// witnesses to cross-check it. Its methods are safe for concurrent use;
// verification is serialized.
type Client struct {
	chainID string
	opts    ClientOptions
	primary Provider
	store   *Store
	logger  *slog.Logger

	mu        sync.Mutex
	witnesses []Provider
	conflict  *ConflictError // set once a conflict is found: the client stops
	halted    chan struct{}  // closed when conflict is set
}

// NewClient starts a client from the store's latest trusted block, or, when
// trust names a height, from that header: taken from the store if held there
// (its hash must match), else fetched from the primary, checked against the
// hash, its commit verified and compared with every witness's.
func NewClient(ctx context.Context, chainID string, trust TrustOptions, primary Provider, witnesses []Provider, store *Store, opts ClientOptions) (*Client, error) {
	if len(witnesses) == 0 {
		return nil, ErrNoWitnesses
	}
	if err := opts.TrustLevel.Validate(); err != nil {
		return nil, err
	}
	if opts.TrustingPeriod <= 0 {
		return nil, fmt.Errorf("light: trusting period must be positive, got %s", opts.TrustingPeriod)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PruningSize <= 0 {
		opts.PruningSize = DefaultPruningSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{chainID: chainID, opts: opts, primary: primary, store: store, logger: opts.Logger, witnesses: witnesses, halted: make(chan struct{})}
	if trust.Height == 0 {
		lb, err := store.Latest()
		if err != nil {
			return nil, err
		}
		if lb == nil {
			return nil, ErrNoTrust
		}
		if lb.Header.ChainID != chainID {
			return nil, fmt.Errorf("light: the store holds chain %q, not %q: use another --home", lb.Header.ChainID, chainID)
		}
		return c, nil
	}
	return c, c.initTrust(ctx, trust)
}

func (c *Client) initTrust(ctx context.Context, trust TrustOptions) error {
	if lb, err := c.store.LightBlock(trust.Height); err != nil || lb != nil {
		if err == nil && lb.Hash() != trust.Hash {
			err = fmt.Errorf("%w: the store holds header %X at height %d, not %X: use another --home, or the stored hash", ErrTrustedHash, lb.Hash(), trust.Height, trust.Hash)
		}
		return err
	}
	lb, err := c.primary.LightBlock(ctx, trust.Height)
	if err != nil {
		return fmt.Errorf("light: fetch the trusted header at height %d from primary %s: %w", trust.Height, c.primary.ID(), err)
	}
	if err := lb.ValidateBasic(c.chainID); err != nil {
		return fmt.Errorf("light: primary %s at height %d: %w", c.primary.ID(), trust.Height, err)
	}
	if h := lb.Hash(); h != trust.Hash {
		return fmt.Errorf("%w: primary %s has header %X at height %d, you trust %X", ErrTrustedHash, c.primary.ID(), h, trust.Height, trust.Hash)
	}
	if expires := lb.Header.Time.Add(c.opts.TrustingPeriod); !c.opts.Now().Before(expires) {
		return fmt.Errorf("%w: the header at height %d expired at %s: trust a more recent one", ErrOldHeaderExpired, trust.Height, expires.UTC().Format(time.RFC3339))
	}
	if err := VerifyCommitLight(c.chainID, lb.ValidatorSet, lb.Commit.BlockID, lb.Height(), lb.Commit); err != nil {
		return fmt.Errorf("light: primary %s at height %d: %w", c.primary.ID(), trust.Height, err)
	}
	if err := c.compareWitnesses(ctx, []*LightBlock{lb}); err != nil {
		return err
	}
	c.logger.Info("trusting header", "height", lb.Height(), "hash", fmt.Sprintf("%X", lb.Hash()))
	return c.store.Save(lb)
}

// Halted is closed when the client found a conflict and stopped; Conflict
// then returns it. Every verification afterwards fails with it.
func (c *Client) Halted() <-chan struct{} { return c.halted }

// Conflict returns the conflict that stopped the client, nil if none.
func (c *Client) Conflict() *ConflictError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conflict
}

// halt records a conflict found by compareWitnesses; c.mu is held.
func (c *Client) halt(err error) error {
	var conflict *ConflictError
	if errors.As(err, &conflict) && c.conflict == nil {
		c.conflict = conflict
		close(c.halted)
	}
	return err
}

// ChainID is the chain the client follows.
func (c *Client) ChainID() string { return c.chainID }

// Primary is the provider the client fetches from.
func (c *Client) Primary() Provider { return c.primary }

// LatestTrusted returns the highest verified light block.
func (c *Client) LatestTrusted() (*LightBlock, error) { return c.store.Latest() }

// Update verifies the primary's latest header, and returns the highest
// verified light block.
func (c *Client) Update(ctx context.Context) (*LightBlock, error) {
	latest, err := c.primary.LightBlock(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("light: primary %s: latest light block: %w", c.primary.ID(), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conflict != nil {
		return nil, c.conflict
	}
	trusted, err := c.store.Latest()
	if err != nil {
		return nil, err
	}
	if latest.Height() <= trusted.Height() {
		return trusted, nil
	}
	return c.verifyAbove(ctx, trusted, latest)
}

// VerifyLightBlockAtHeight returns the verified light block at height,
// verifying it first unless it is stored: forwards from the closest trusted
// block below, or backwards by hash links from the lowest one.
func (c *Client) VerifyLightBlockAtHeight(ctx context.Context, height int64) (*LightBlock, error) {
	if height <= 0 {
		return nil, fmt.Errorf("light: height must be positive, got %d", height)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conflict != nil {
		return nil, c.conflict
	}
	if lb, err := c.store.LightBlock(height); err != nil || lb != nil {
		return lb, err
	}
	below, err := c.store.Below(height)
	if err != nil {
		return nil, err
	}
	if below == nil {
		return c.verifyBackwards(ctx, height)
	}
	target, err := c.primary.LightBlock(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("light: primary %s: %w", c.primary.ID(), err)
	}
	return c.verifyAbove(ctx, below, target)
}

// verifyAbove verifies target from trusted with the primary, cross-checks
// it with the witnesses, and stores the verified trace.
func (c *Client) verifyAbove(ctx context.Context, trusted, target *LightBlock) (*LightBlock, error) {
	trace, err := c.verifyForward(ctx, c.primary, trusted, target)
	if err != nil {
		return nil, fmt.Errorf("light: verifying height %d from trusted height %d with primary %s: %w", target.Height(), trusted.Height(), c.primary.ID(), err)
	}
	if err := c.compareWitnesses(ctx, trace); err != nil {
		return nil, c.halt(err)
	}
	for _, lb := range trace[1:] {
		if err := c.store.Save(lb); err != nil {
			return nil, err
		}
	}
	if err := c.store.Prune(c.opts.PruningSize); err != nil {
		return nil, err
	}
	c.logger.Info("verified header", "height", target.Height(), "hash", fmt.Sprintf("%X", target.Hash()), "from", trusted.Height(), "steps", len(trace)-1)
	return target, nil
}

// verifyForward verifies target from trusted with blocks from source, and
// returns the trace of verified blocks from trusted to target. Sequential
// mode checks every height; otherwise it skips as far as the trust level
// allows, verifying the header halfway when it does not (bisection).
func (c *Client) verifyForward(ctx context.Context, source Provider, trusted, target *LightBlock) ([]*LightBlock, error) {
	trace := []*LightBlock{trusted}
	verified := trusted
	pending := []*LightBlock{target}
	for len(pending) > 0 {
		next := pending[len(pending)-1]
		if c.opts.Sequential && next.Height() > verified.Height()+1 {
			lb, err := fetch(ctx, source, verified.Height()+1)
			if err != nil {
				return nil, err
			}
			pending = append(pending, lb)
			continue
		}
		err := Verify(c.chainID, verified, next, c.opts.VerifyOptions, c.opts.Now())
		switch {
		case err == nil:
			verified = next
			trace = append(trace, next)
			pending = pending[:len(pending)-1]
		case errors.Is(err, ErrNotEnoughTrust):
			pivot := verified.Height() + (next.Height()-verified.Height())/2
			lb, err := fetch(ctx, source, pivot)
			if err != nil {
				return nil, err
			}
			pending = append(pending, lb)
		default:
			return nil, err
		}
	}
	return trace, nil
}

func fetch(ctx context.Context, source Provider, height int64) (*LightBlock, error) {
	lb, err := source.LightBlock(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("fetch height %d from %s: %w", height, source.ID(), err)
	}
	if lb.Header == nil || lb.Header.Height != height {
		return nil, fmt.Errorf("%w: %s returned another height when asked for %d", ErrInvalidLightBlock, source.ID(), height)
	}
	return lb, nil
}

// verifyBackwards verifies the block at height below the lowest trusted
// one by the chain of LastBlockID hashes, which a header commits to.
func (c *Client) verifyBackwards(ctx context.Context, height int64) (*LightBlock, error) {
	trusted, err := c.store.Lowest()
	if err != nil {
		return nil, err
	}
	if trusted == nil {
		return nil, ErrNoTrust
	}
	if expires := trusted.Header.Time.Add(c.opts.TrustingPeriod); !c.opts.Now().Before(expires) {
		return nil, fmt.Errorf("%w: the lowest trusted header (height %d) expired at %s", ErrOldHeaderExpired, trusted.Height(), expires.UTC().Format(time.RFC3339))
	}
	for h := trusted.Height() - 1; h >= height; h-- {
		lb, err := fetch(ctx, c.primary, h)
		if err != nil {
			return nil, err
		}
		if err := lb.ValidateBasic(c.chainID); err != nil {
			return nil, fmt.Errorf("light: primary %s at height %d: %w", c.primary.ID(), h, err)
		}
		if got, want := lb.Hash(), trusted.Header.LastBlockID.Hash; got != want {
			return nil, fmt.Errorf("%w: primary %s has header %X at height %d, the trusted header at %d links to %X",
				ErrInvalidHeader, c.primary.ID(), got, h, trusted.Height(), want)
		}
		if !lb.Header.Time.Before(trusted.Header.Time) {
			return nil, fmt.Errorf("%w: header at height %d is not older than the one above it", ErrInvalidHeader, h)
		}
		if err := c.store.Save(lb); err != nil {
			return nil, err
		}
		trusted = lb
	}
	return trusted, nil
}
