from transformers import CLIPTokenizer

from mmdatasetdm.diffusion import learn_bpe, save_clip_tokenizer_files, word_token_positions


def test_learned_vocabulary_keeps_frequent_words_whole(tmp_path):
    texts = ['a photo of a person on grass', 'a photo of a red cone', 'a person and a cone'] * 5
    save_clip_tokenizer_files(texts, str(tmp_path), num_merges=200)
    tok = CLIPTokenizer.from_pretrained(str(tmp_path))
    assert tok.tokenize('A photo of a Person') == ['a</w>', 'photo</w>', 'of</w>', 'a</w>',
                                                   'person</w>']
    # unseen words still tokenise (into pieces), never to unknown tokens
    ids = tok('zebra', add_special_tokens=False).input_ids
    assert len(ids) > 1 and tok.unk_token_id not in ids
    assert tok.model_max_length == 77


def test_bpe_is_deterministic():
    texts = ['the cat sat on the mat', 'the dog sat'] * 3
    assert learn_bpe(texts, 50) == learn_bpe(list(texts), 50)


def test_word_positions_multi_token_and_repeats(tiny_components):
    tok = tiny_components.tokenizer
    prompt = 'a photo of a person and a person on grass'
    pos = word_token_positions(tok, prompt, ['person', 'grass', 'zebra'])
    assert pos['person'] == [5, 8]
    assert pos['grass'] == [10]
    assert pos['zebra'] == []
    # a word split into several BPE pieces contributes all of its positions
    pieces = tok('zebra', add_special_tokens=False).input_ids
    pos = word_token_positions(tok, 'a zebra', ['zebra'])
    assert pos['zebra'] == list(range(2, 2 + len(pieces)))
