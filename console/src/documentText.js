// A stored document as GET /v1/rag/collections/{name}/documents/{id} returns its chunks, turned
// into what the document view shows: sections under their headings, each a run of text parts,
// the parts of the cited chunk marked. A chunk's first overlap_chars repeat the end of the chunk
// before it (chunking's overlap), so the document's text is every chunk without them, and the
// cited chunk starts that many characters before its own part.

function samePath(a, b) {
  return a.length === b.length && a.every((heading, i) => heading === b[i])
}

/**
 * { sections: [{ path, parts: [{ text, cited }] }], found }: found when the cited chunk is in the
 * document as it was cited (a document replaced since may hold another text under its id).
 */
export function documentSections(chunks, citation) {
  let offset = 0
  let cited = null
  const pieces = chunks.map((chunk) => {
    const text = chunk.text.slice(chunk.overlap_chars)
    const start = offset
    offset += text.length
    if (chunk.chunk_id === citation.chunk_id && chunk.text === citation.text) cited = { from: start - chunk.overlap_chars, to: offset }
    return { path: chunk.heading_path, start, text }
  })
  const sections = []
  for (const piece of pieces) {
    let section = sections[sections.length - 1]
    if (!section || !samePath(section.path, piece.path)) sections.push((section = { path: piece.path, parts: [] }))
    section.parts.push(...split(piece, cited))
  }
  return { sections, found: cited !== null }
}

/** The piece as up to three parts: before, inside and after the cited range. */
function split({ start, text }, cited) {
  if (!cited) return [{ text, cited: false }]
  const from = Math.min(Math.max(cited.from - start, 0), text.length)
  const to = Math.min(Math.max(cited.to - start, 0), text.length)
  return [
    { text: text.slice(0, from), cited: false },
    { text: text.slice(from, to), cited: true },
    { text: text.slice(to), cited: false },
  ].filter((part) => part.text)
}
