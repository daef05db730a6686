package light

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to both decoders of light blocks: the
// store's value format and the RPC's JSON. Neither may panic; what decodes
// must survive the checks the client runs on it.
func FuzzDecode(f *testing.F) {
	c := genChain(f, testChainID, 3, threeEras, sameAppHash)
	for h := int64(1); h <= 3; h++ {
		raw, err := json.Marshal(lightBlockToJSON(c.blocks[h]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		if raw, err = encodeStored(c.blocks[h]); err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{0x02, 0x0a, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if lb, err := decodeStored(1, data); err == nil {
			_ = lb.ValidateBasic(testChainID)
		}
		var j lightBlockJSON
		if json.Unmarshal(data, &j) != nil {
			return
		}
		h, com, err := j.SignedHeader.toSignedHeader()
		if err != nil {
			return
		}
		vals, err := validatorSetFromJSON(j.ValidatorSet.Validators)
		if err != nil {
			return
		}
		lb := &LightBlock{Header: h, Commit: com, ValidatorSet: vals}
		if lb.ValidateBasic(testChainID) == nil {
			_ = VerifyCommitLight(testChainID, vals, com.BlockID, h.Height, com)
		}
	})
}
