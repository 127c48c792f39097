// A request of the console written as curl, Python (the openai package) and Java (the JDK's
// HttpClient). The key is read from TIANSHU_API_KEY: a copied snippet never holds it.

function pyLiteral(value, indent = '') {
  const inner = `${indent}    `
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) {
    if (!value.length) return '[]'
    return `[\n${value.map((v) => inner + pyLiteral(v, inner)).join(',\n')},\n${indent}]`
  }
  const entries = Object.entries(value)
  if (!entries.length) return '{}'
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pyLiteral(v, inner)}`).join(',\n')},\n${indent}}`
}

const shellQuote = (text) => `'${text.replace(/'/g, `'\\''`)}'`

/** { curl, python, java } for a chat completion request `body` sent to `origin`. */
export function chatSnippets(origin, body) {
  const json = JSON.stringify(body, null, 2)
  const curl = `curl -sN ${origin}/v1/chat/completions \\\n  -H "Authorization: Bearer $TIANSHU_API_KEY" \\\n`
    + `  -H 'Content-Type: application/json' \\\n  -d ${shellQuote(json)}`
  const { stream, stream_options: _options, ...rest } = body
  const pythonCall = stream
    ? `for chunk in client.chat.completions.create(**request):\n    if chunk.choices:\n        print(chunk.choices[0].delta.content or "", end="", flush=True)`
    : 'print(client.chat.completions.create(**request).choices[0].message.content)'
  const python = `import os\n\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="${origin}/v1", api_key=os.environ["TIANSHU_API_KEY"])\n`
    + `request = ${pyLiteral({ ...rest, stream })}\n${pythonCall}\n`
  const javaBody = json.split('\n').map((line) => `            ${line}`).join('\n')
  const java = `import java.net.URI;\nimport java.net.http.HttpClient;\nimport java.net.http.HttpRequest;\nimport java.net.http.HttpResponse;\n\n`
    + `public class Chat {\n    public static void main(String[] args) throws Exception {\n`
    + `        HttpRequest request = HttpRequest.newBuilder(URI.create("${origin}/v1/chat/completions"))\n`
    + `            .header("Authorization", "Bearer " + System.getenv("TIANSHU_API_KEY"))\n`
    + `            .header("Content-Type", "application/json")\n`
    + `            .POST(HttpRequest.BodyPublishers.ofString("""\n${javaBody.replace(/\\/g, '\\\\')}\n            """))\n            .build();\n`
    + `        HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofLines())\n`
    + `            .body().forEach(System.out::println);\n    }\n}\n`
  return { curl, python, java }
}
