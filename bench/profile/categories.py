"""Instructions per call of a callgrind profile, by category (self cost of each function).

Frames that stay on the stack for the whole measured period (thread start, the tokio worker
loop) get the whole total as "self" cost in a zeroed-then-dumped profile; they are left out.
"""
import re,subprocess,sys
def load(f, inclusive):
    out=subprocess.run(['callgrind_annotate','--threshold=100','--inclusive='+('yes' if inclusive else 'no'),f],capture_output=True,text=True).stdout
    rows=[]; total=None
    for l in out.splitlines():
        m=re.match(r'\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$',l)
        if not m: continue
        n=int(m.group(1).replace(',','')); name=m.group(2)
        if 'PROGRAM TOTALS' in name: total=n; continue
        rows.append((n,name))
    rows=[(n,name) for n,name in rows if n!=total]
    return total,rows
CATS=[
 ('malloc/free/realloc (libc+rust shims)', r'malloc\.c|arena\.c|__rdl_|__rust_alloc|__rust_dealloc|__rust_realloc|realloc|cfree|RawVec.*grow|finish_grow'),
 ('memcpy/memmove/memset', r'memmove|memcpy|memset'),
 ('bench (floor code)', r'bench::'),
 ('HeaderMap / http types', r'http::header|http::response|http::request|http::extensions|http::uri|HeaderName|HeaderValue'),
 ('hyper h1 dispatch/parse/encode', r'hyper::|httparse::|hyper_util::'),
 ('tokio timers (Sleep, time driver)', r'tokio::time::|tokio::runtime::time::|TimerEntry|sleep::Sleep'),
 ('tokio IO + scheduler + wakers', r'tokio::|mio::'),
 ('tungstenite', r'tungstenite'),
 ('our driver/server (jsonrpc_proto, transport_tokio)', r'jsonrpc_proto::|transport_tokio::'),
 ('serde_json', r'serde_json::'),
 ('jsonrpsee', r'jsonrpsee'),
 ('futures_util/futures', r'futures_util|futures_core|futures_channel'),
 ('UTF-8 / str', r'core::str::|Utf8Chunks|from_utf8'),
 ('other libc (syscall wrappers etc.)', r'libc\.so|sysdeps|libpthread'),
]
def categorize(f, n):
    total,rows=load(f,False)
    sums={c:0 for c,_ in CATS}; other=0; others=[]
    for v,name in rows:
        for c,pat in CATS:
            if re.search(pat,name): sums[c]+=v; break
        else: other+=v; others.append((v,name))
    print(f'== {f}: total {total:,} Ir, {n} requests -> {total/n:,.0f} Ir/request')
    for c,_ in CATS:
        if sums[c]: print(f'  {c:<52} {sums[c]/n:>8,.0f} Ir/req {100*sums[c]/total:5.1f}%')
    print(f'  {"other":<52} {other/n:>8,.0f} Ir/req {100*other/total:5.1f}%')
    for v,name in sorted(others,reverse=True)[:8]: print('     other:',f'{v/n:,.0f}',name[:120])

if __name__ == '__main__':
    if len(sys.argv) < 3 or len(sys.argv) % 2 == 0:
        sys.exit('usage: categories.py CALLGRIND_FILE CALLS [CALLGRIND_FILE CALLS ...]')
    for f, n in zip(sys.argv[1::2], sys.argv[2::2]):
        categorize(f, int(n))
