// The page-table entry as the kernels read it: the 32 bytes of `PageTableEntry`
// (Sources/KVPack/Layout/PageTableEntry.swift, whose codec writes both the `.kvp` page table and
// the device upload), as 32-bit little-endian words and bit positions. PageEntryLayoutTests reads
// this file and checks every constant against `PageTableEntry.Layout`: change them together.
// Plain integers, so that the preprocessor can check the layout decodePage assumes.

#define PAGE_ENTRY_WORDS 8
#define PAGE_POSITIONS_WORD 0
#define PAGE_TOKENS_WORD 1
#define PAGE_TOKENS_SHIFT 0
#define PAGE_TOKENS_MASK 0xFFFF
#define PAGE_KEY_KIND_WORD 1
#define PAGE_KEY_KIND_SHIFT 16
#define PAGE_VALUE_KIND_WORD 1
#define PAGE_VALUE_KIND_SHIFT 24
#define PAGE_KIND_MASK 0xFF
#define PAGE_KEY_GROUP_WORD 2
#define PAGE_KEY_GROUP_SHIFT 0
#define PAGE_VALUE_GROUP_WORD 2
#define PAGE_VALUE_GROUP_SHIFT 16
#define PAGE_GROUP_MASK 0xFFFF
#define PAGE_AXES_WORD 3
#define PAGE_AXES_SHIFT 0
#define PAGE_KEY_BY_CHANNEL 1
#define PAGE_VALUE_BY_CHANNEL 2
// The low words of the u64 offsets: within a pool window an offset fits 32 bits.
#define PAGE_KEY_OFFSET_WORD 4
#define PAGE_VALUE_OFFSET_WORD 6

#if PAGE_KEY_KIND_WORD != PAGE_TOKENS_WORD || PAGE_VALUE_KIND_WORD != PAGE_TOKENS_WORD || PAGE_VALUE_GROUP_WORD != PAGE_KEY_GROUP_WORD
#error "decodePage reads the token count and both kinds from one word, and both group sizes from another"
#endif
