"""The normal form of variant annotations: gene keys, molecular effects as SO terms, protein changes in one letter.

Ingest normalises VEP and SnpEff annotations with it and the Beacon normalises `geneId` and `aminoacidChange`
with it, so both meet in one form (as catalogue.alleles does for alleles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["EFFECT_TERMS", "Annotation", "effect_term", "gene_key", "protein_change"]


@dataclass(frozen=True, slots=True)
class Annotation:
    """What an annotation says of one ALT allele in one gene: its gene (symbol and id), molecular effects (SO term
    names) and protein change, in one-letter form (`protein_change`; "" when none), as ingest reads it and the
    index gives it back."""

    gene: str
    gene_id: str
    effects: tuple[str, ...]
    protein: str
    change: str

# Sequence Ontology ids of the consequence terms VEP and SnpEff write (their own spelling of the SO term names).
EFFECT_TERMS: dict[str, str] = {
    "transcript_ablation": "SO:0001893", "splice_acceptor_variant": "SO:0001574",
    "splice_donor_variant": "SO:0001575", "stop_gained": "SO:0001587", "frameshift_variant": "SO:0001589",
    "stop_lost": "SO:0001578", "start_lost": "SO:0002012", "transcript_amplification": "SO:0001889",
    "feature_elongation": "SO:0001907", "feature_truncation": "SO:0001906", "inframe_insertion": "SO:0001821",
    "inframe_deletion": "SO:0001822", "missense_variant": "SO:0001583", "protein_altering_variant": "SO:0001818",
    "splice_donor_5th_base_variant": "SO:0001787", "splice_region_variant": "SO:0001630",
    "splice_donor_region_variant": "SO:0002170", "splice_polypyrimidine_tract_variant": "SO:0002169",
    "incomplete_terminal_codon_variant": "SO:0001626", "start_retained_variant": "SO:0002019",
    "stop_retained_variant": "SO:0001567", "synonymous_variant": "SO:0001819",
    "coding_sequence_variant": "SO:0001580", "mature_miRNA_variant": "SO:0001620",
    "5_prime_UTR_variant": "SO:0001623", "3_prime_UTR_variant": "SO:0001624",
    "non_coding_transcript_exon_variant": "SO:0001792", "intron_variant": "SO:0001627",
    "NMD_transcript_variant": "SO:0001621", "non_coding_transcript_variant": "SO:0001619",
    "coding_transcript_variant": "SO:0001968", "upstream_gene_variant": "SO:0001631",
    "downstream_gene_variant": "SO:0001632", "TFBS_ablation": "SO:0001895", "TFBS_amplification": "SO:0001892",
    "TF_binding_site_variant": "SO:0001782", "regulatory_region_ablation": "SO:0001894",
    "regulatory_region_amplification": "SO:0001891", "regulatory_region_variant": "SO:0001566",
    "intergenic_variant": "SO:0001628", "sequence_variant": "SO:0001060",
    # SnpEff's further terms
    "conservative_inframe_insertion": "SO:0001823", "disruptive_inframe_insertion": "SO:0001824",
    "conservative_inframe_deletion": "SO:0001825", "disruptive_inframe_deletion": "SO:0001826",
    "exon_loss_variant": "SO:0001572", "gene_fusion": "SO:0001565", "intragenic_variant": "SO:0002011",
    "initiator_codon_variant": "SO:0001582", "5_prime_UTR_premature_start_codon_gain_variant": "SO:0001988",
}

_THREE = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G", "His": "H",
    "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W",
    "Tyr": "Y", "Val": "V", "Ter": "*", "Sec": "U", "Pyl": "O", "Xaa": "X",
}
_THREE_LETTER = re.compile("|".join(_THREE))
_PROTEIN = re.compile(r"^[A-Z*]\d+[A-Za-z0-9*_=?]*$")  # one-letter changes: V600E, R97*, G12fs*3, L5del, M1?
MAX_CHANGE = 100  # characters of a protein change kept


def gene_key(gene: str) -> str:
    """The form gene symbols and ids are matched in: stripped and upper-cased (BRAF, ENSG00000157764)."""
    return gene.strip().upper()


def protein_change(hgvs_p: str) -> str | None:
    """A protein change in one-letter form, upper-cased ("V600E", "R97*", "G12FS"), or None when it is not one.

    Accepts VEP's `ENSP00000288602.6:p.Val600Glu`, SnpEff's `p.Val600Glu`, `p.(Val600Glu)`, and the Beacon's
    own one-letter `V600E`; synonymous `p.=`/`p.Val600=` and unknown changes give the change as written.
    """
    text = hgvs_p.strip().replace("%3D", "=")
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    text = text.removeprefix("p.").strip("()")
    text = _THREE_LETTER.sub(lambda m: _THREE[m.group(0)], text)
    if not text or len(text) > MAX_CHANGE or not _PROTEIN.fullmatch(text):
        return None
    return text.upper()


def effect_term(name: str) -> tuple[str, str] | None:
    """(SO id, label) of a consequence term (`missense_variant` -> SO:0001583, "missense variant"), or None."""
    term = EFFECT_TERMS.get(name.strip())
    if term is None:
        return None
    return term, name.strip().replace("_", " ")
