#!/usr/bin/env python3
"""Lists the functions in Sources longer than LIMIT lines (default 80), longest first:
   python3 scripts/long-functions.py [LIMIT]
A function is counted from its declaration to its closing brace (nested functions count
inside it); generated code is left out. Exit status 1 when any is listed."""
import os, re, sys, glob
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
limit=int(sys.argv[1]) if len(sys.argv)>1 else 80
decl=re.compile(r'^\s*(?:@[\w()]+\s+)*(?:(?:public|package|internal|private|fileprivate|static|class|final|override|mutating|nonmutating|convenience|required|@inline\(__always\)|@inlinable|@discardableResult)\s+)*(func\s+[^\s(<]+|init[?!]?\s*[(<]|subscript\s*[(<]|deinit\b)')
def strip(line):
    line=re.sub(r'"(?:\\.|[^"\\])*"','""',line)
    i=line.find('//')
    return line if i<0 else line[:i]
out=[]
for p in sorted(glob.glob(os.path.join(root, 'Sources', '**', '*.swift'),recursive=True)):
    if '/Generated/' in p: continue
    L=open(p).read().split('\n')
    inml=False
    clean=[]
    for l in L:
        if '"""' in l: inml = (l.count('"""')%2==1) != inml; clean.append(''); continue
        clean.append('' if inml else strip(l))
    i=0
    while i<len(L):
        m=decl.match(clean[i])
        if m:
            # find opening brace
            depth=0; start=i; j=i; opened=False
            while j<len(L):
                for ch in clean[j]:
                    if ch=='{': depth+=1; opened=True
                    elif ch=='}': depth-=1
                if opened and depth<=0: break
                if not opened and j>i+8: break
                j+=1
            if opened:
                n=j-start+1
                if n>limit: out.append((n,p.split('Sources/')[1],start+1,m.group(1).strip()))
        i+=1
for n,p,l,name in sorted(out,reverse=True): print(f'{n:4d} {p}:{l} {name}')
sys.exit(1 if out else 0)
