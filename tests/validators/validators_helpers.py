"""Small data sets the validator tests write (never SciFact or any other non-commercial set)."""
from __future__ import annotations

import json
from pathlib import Path

WORDS = """the a an of to in on and or is are was be by for with at from as it this that what why how who when where
which do does did can will not no yes cat cats dog dogs purr purrs mouse mice hunt night small pet pets rocket rockets
orbit space launch fuel thrust stage bread dough yeast rise bake oven crust volcano lava magma rock erupt piano keys
music string strings hammer coffee espresso bean beans water hot roast tide tides moon sea coast chess board bishop
move moves game king queen card bank money account transfer refund payment lost stolen pin balance fee fees""".split()

TOPICS = {
    "cats": "Cats are small pets. Cats purr and hunt mice at night.",
    "rockets": "Rockets burn fuel for thrust. A rocket needs a stage to reach orbit in space.",
    "bread": "Bread dough rises with yeast. Bake the bread in a hot oven for a crust.",
    "volcano": "A volcano can erupt. Magma becomes lava and lava becomes rock.",
    "piano": "The piano has keys. A hammer hits the strings to make music.",
    "coffee": "Coffee beans are a roast. Espresso pushes hot water through the beans.",
    "tides": "The moon moves the sea. Tides rise on the coast twice a day.",
    "chess": "Chess is a board game. The bishop moves and the king and queen move too.",
}
QUERIES = {
    "q0": ("why do cats purr", "d0"),
    "q1": ("how do rockets reach orbit", "d1"),
    "q2": ("why does bread dough rise", "d2"),
    "q3": ("what is lava", "d3"),
    "q4": ("how many keys on a piano", "d4"),
    "q5": ("how is espresso made", "d5"),
    "q6": ("what moves the tides", "d6"),
    "q7": ("how does the bishop move", "d7"),
}


def write_beir(folder: Path, extra_docs: int = 12) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for i, (title, text) in enumerate(TOPICS.items()):
            fh.write(json.dumps({"_id": f"d{i}", "title": title.title(), "text": text}) + "\n")
        for j in range(extra_docs):
            fh.write(json.dumps({"_id": f"x{j}", "title": "", "text": f"Filler number {j} about a bank account fee."}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as fh:
        for qid, (text, _) in QUERIES.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(folder / "qrels.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, (_, doc) in QUERIES.items():
            fh.write(f"{qid}\t{doc}\t1\n")
    return folder


CLASSES = {
    "card": ["my card was lost", "card stolen what do i do", "i lost my card yesterday", "the card is stolen",
             "lost card help", "block my stolen card", "card missing", "where is my lost card", "my card is gone",
             "stolen card report"],
    "refund": ["i want a refund", "refund my payment", "how do i get a refund", "refund please", "money back refund",
               "refund for the payment", "the refund is late", "no refund yet", "refund status", "refund the fee"],
    "transfer": ["transfer money to my account", "bank transfer failed", "how to transfer money", "transfer to a friend",
                 "money transfer pending", "the transfer is slow", "transfer fee", "cancel a transfer",
                 "transfer limit", "international transfer"],
}


def write_classification(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    train = [(t, lab) for lab, texts in CLASSES.items() for t in texts[:7]]
    test = [(t, lab) for lab, texts in CLASSES.items() for t in texts[7:]]
    for name, rows in (("train.csv", train), ("test.csv", test)):
        with open(folder / name, "w", encoding="utf-8") as fh:
            fh.write("text,label\n")
            for t, lab in rows:
                fh.write(f"\"{t}\",{lab}\n")
    return folder


def write_sts(path: Path) -> Path:
    pairs = [("a cat purrs", "a cat is purring", 4.8), ("a dog runs", "a dog is running", 4.5),
             ("bread in the oven", "baking bread", 3.9), ("the moon and tides", "the sea rises with the moon", 3.2),
             ("a rocket in space", "a piano with keys", 0.3), ("coffee beans", "chess board", 0.1),
             ("lava from a volcano", "a volcano erupts lava", 4.1), ("my card is lost", "i lost my card", 4.9)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("sentence1\tsentence2\tscore\n")
        for a, b, s in pairs:
            fh.write(f"{a}\t{b}\t{s}\n")
    return path


SYLLABLES = "ka lo mi ne ru sa ti vo ze pa qui der mon tal bex sor lin gar fu hep".split()


def write_topics_beir(folder: Path, topics: int = 60, docs_per_topic: int = 2, seed: int = 7) -> Path:
    """A retrieval set big enough for paired tests: one made-up vocabulary per topic; each query uses some of its
    topic's words and is judged against the topic's first document (the others are near-duplicates, unjudged)."""
    import random

    rng = random.Random(seed)
    words = sorted({a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES})
    rng.shuffle(words)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as corpus, \
            open(folder / "queries.jsonl", "w", encoding="utf-8") as queries, \
            open(folder / "qrels.tsv", "w", encoding="utf-8") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        for t in range(topics):
            vocab = rng.sample(words, 12)
            for j in range(docs_per_topic):
                text = " ".join(rng.choice(vocab) for _ in range(14))
                corpus.write(json.dumps({"_id": f"t{t}d{j}", "title": "", "text": text}) + "\n")
            query = " ".join(rng.sample(vocab, 3))
            queries.write(json.dumps({"_id": f"q{t}", "text": query}) + "\n")
            qrels.write(f"q{t}\tt{t}d0\t1\n")
    return folder
