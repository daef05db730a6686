package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/bftnode/bftnode/consensus"
	"github.com/bftnode/bftnode/consensus/wal"
	typespb "github.com/bftnode/bftnode/proto/bftnode/types"
	"github.com/bftnode/bftnode/types"
)

// ErrBadRecord means a WAL record passed its checksum but does not decode:
// the log was written by another version or is damaged.
var ErrBadRecord = errors.New("engine: undecodable WAL record")

// WAL record kinds of the engine's events.
const (
	kindStartHeight wal.Kind = wal.MinUserKind + iota
	kindProposal             // a proposal with its complete block
	kindValueReady           // this node's own fresh block
	kindValidity             // the application's verdict on a block
	kindVote                 // a prevote or precommit, own or a peer's
	kindTimeout              // a timeout that fired
)

// walEntry is one decoded record: the events to step, and the block it
// carries, if any.
type walEntry struct {
	events []consensus.Event
	block  *types.Block
}

type recWriter struct{ b []byte }

func (w *recWriter) i64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }
func (w *recWriter) i32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *recWriter) u8(v uint8)  { w.b = append(w.b, v) }
func (w *recWriter) time(t time.Time) {
	if t.IsZero() {
		w.i64(0)
		return
	}
	w.i64(t.UnixNano())
}
func (w *recWriter) bytes(p []byte) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(p)))
	w.b = append(w.b, p...)
}

type recReader struct {
	b   []byte
	err error
}

func (r *recReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("%w: short record", ErrBadRecord)
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *recReader) i64() int64 {
	if p := r.take(8); p != nil {
		return int64(binary.BigEndian.Uint64(p))
	}
	return 0
}

func (r *recReader) i32() int32 {
	if p := r.take(4); p != nil {
		return int32(binary.BigEndian.Uint32(p))
	}
	return 0
}

func (r *recReader) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *recReader) time() time.Time {
	n := r.i64()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (r *recReader) bytes() []byte {
	n := r.take(4)
	if n == nil {
		return nil
	}
	return r.take(int(binary.BigEndian.Uint32(n)))
}

func marshalBlock(b *types.Block) ([]byte, error) {
	bz, err := b.ToProto().Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: marshal block: %w", ErrStore, err)
	}
	return bz, nil
}

func unmarshalBlock(bz []byte) (*types.Block, error) {
	var pb typespb.Block
	if err := pb.Unmarshal(bz); err != nil {
		return nil, fmt.Errorf("%w: block: %w", ErrBadRecord, err)
	}
	b, err := types.BlockFromProto(&pb)
	if err != nil {
		return nil, fmt.Errorf("%w: block: %w", ErrBadRecord, err)
	}
	return b, nil
}

func encodeStartHeight(h int64, now time.Time) []byte {
	var w recWriter
	w.i64(h)
	w.time(now)
	return w.b
}

func encodeProposal(p *types.Proposal, b *types.Block, now time.Time) ([]byte, error) {
	pbz, err := p.ToProto().Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: marshal proposal: %w", ErrStore, err)
	}
	bbz, err := marshalBlock(b)
	if err != nil {
		return nil, err
	}
	var w recWriter
	w.time(now)
	w.bytes(pbz)
	w.bytes(bbz)
	return w.b, nil
}

func encodeValueReady(e consensus.ValueReady, b *types.Block) ([]byte, error) {
	bbz, err := marshalBlock(b)
	if err != nil {
		return nil, err
	}
	var w recWriter
	w.i64(e.Height)
	w.i32(e.Round)
	w.time(e.Now)
	w.bytes(bbz)
	return w.b, nil
}

func encodeValidity(e consensus.ValidityChecked) ([]byte, error) {
	id := e.BlockID.ToProto()
	bz, err := id.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: marshal block ID: %w", ErrStore, err)
	}
	var w recWriter
	w.i64(e.Height)
	if e.Valid {
		w.u8(1)
	} else {
		w.u8(0)
	}
	w.time(e.Now)
	w.bytes(bz)
	return w.b, nil
}

func encodeVote(v *types.Vote, now time.Time) ([]byte, error) {
	bz, err := v.ToProto().Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: marshal vote: %w", ErrStore, err)
	}
	var w recWriter
	w.time(now)
	w.bytes(bz)
	return w.b, nil
}

func encodeTimeout(e consensus.TimeoutFired) []byte {
	var w recWriter
	w.i64(e.Height)
	w.i32(e.Round)
	w.u8(uint8(e.Step))
	w.time(e.Now)
	return w.b
}

// decodeRecord turns a WAL record back into the events it logged. The
// validators of a StartHeight are not logged: vals supplies them.
func decodeRecord(rec wal.Record, vals *types.ValidatorSet) (walEntry, error) {
	r := &recReader{b: rec.Payload}
	var ent walEntry
	switch rec.Kind {
	case kindStartHeight:
		h := r.i64()
		ent.events = []consensus.Event{consensus.StartHeight{Height: h, Validators: vals, Now: r.time()}}
	case kindProposal:
		now := r.time()
		pbz, bbz := r.bytes(), r.bytes()
		if r.err != nil {
			return ent, r.err
		}
		var pb typespb.Proposal
		if err := pb.Unmarshal(pbz); err != nil {
			return ent, fmt.Errorf("%w: proposal: %w", ErrBadRecord, err)
		}
		p, err := types.ProposalFromProto(&pb)
		if err != nil {
			return ent, fmt.Errorf("%w: proposal: %w", ErrBadRecord, err)
		}
		if ent.block, err = unmarshalBlock(bbz); err != nil {
			return ent, err
		}
		ent.events = []consensus.Event{
			consensus.ProposalReceived{Proposal: p, Now: now},
			consensus.ValueReceived{Height: p.Height, BlockID: p.BlockID, Now: now},
		}
	case kindValueReady:
		e := consensus.ValueReady{Height: r.i64(), Round: r.i32(), Now: r.time()}
		bbz := r.bytes()
		if r.err != nil {
			return ent, r.err
		}
		b, err := unmarshalBlock(bbz)
		if err != nil {
			return ent, err
		}
		if e.BlockID, err = types.MakeBlockID(b); err != nil {
			return ent, fmt.Errorf("%w: %w", ErrBadRecord, err)
		}
		ent.block, ent.events = b, []consensus.Event{e}
	case kindValidity:
		e := consensus.ValidityChecked{Height: r.i64(), Valid: r.u8() == 1, Now: r.time()}
		bz := r.bytes()
		if r.err != nil {
			return ent, r.err
		}
		var pb typespb.BlockID
		if err := pb.Unmarshal(bz); err != nil {
			return ent, fmt.Errorf("%w: block ID: %w", ErrBadRecord, err)
		}
		id, err := types.BlockIDFromProto(&pb)
		if err != nil {
			return ent, fmt.Errorf("%w: block ID: %w", ErrBadRecord, err)
		}
		e.BlockID = id
		ent.events = []consensus.Event{e}
	case kindVote:
		now := r.time()
		bz := r.bytes()
		if r.err != nil {
			return ent, r.err
		}
		var pb typespb.Vote
		if err := pb.Unmarshal(bz); err != nil {
			return ent, fmt.Errorf("%w: vote: %w", ErrBadRecord, err)
		}
		v, err := types.VoteFromProto(&pb)
		if err != nil {
			return ent, fmt.Errorf("%w: vote: %w", ErrBadRecord, err)
		}
		ent.events = []consensus.Event{consensus.VoteReceived{Vote: v, Now: now}}
	case kindTimeout:
		e := consensus.TimeoutFired{Height: r.i64(), Round: r.i32(), Step: consensus.Step(r.u8()), Now: r.time()}
		ent.events = []consensus.Event{e}
	default:
		return ent, fmt.Errorf("%w: unknown kind %d", ErrBadRecord, rec.Kind)
	}
	if r.err != nil {
		return ent, r.err
	}
	return ent, nil
}
