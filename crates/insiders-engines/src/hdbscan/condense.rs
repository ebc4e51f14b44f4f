//! The single-linkage hierarchy with simultaneous merges of equal weights, the condensed
//! tree with `min_cluster_size`, and the excess-of-mass selection.

use super::mst::Edge;
use super::native::NONE;

/// Union-find with path halving.
pub(super) fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[parent[i as usize] as usize];
        parent[i as usize] = p;
        i = p;
    }
    i
}

/// The single-linkage hierarchy with simultaneous merges of equal weights: nodes `0..n` are
/// the points, nodes `n..` the merges (a parent is created after its children).
#[derive(Debug, Clone)]
pub(super) struct Hierarchy {
    pub(super) n: usize,
    /// Weight (mutual-reachability distance) of every merge node (index `node - n`).
    pub(super) weight: Vec<f64>,
    /// Size of every node.
    pub(super) size: Vec<u32>,
    /// Children of merge node `v` are `child[child_start[v - n]..child_start[v - n + 1]]`,
    /// in ascending node order.
    child_start: Vec<usize>,
    pub(super) child: Vec<u32>,
}

impl Hierarchy {
    pub(super) fn from_mst(n: usize, mut mst: Vec<Edge>) -> Self {
        mst.sort_by(|x, y| x.w2.total_cmp(&y.w2));
        let mut uf: Vec<u32> = (0..n as u32).collect();
        // the hierarchy node currently representing each union-find root
        let mut comp_node: Vec<u32> = (0..n as u32).collect();
        let mut new_of = vec![NONE; n];
        let mut seen = vec![false; n];
        let mut parent: Vec<u32> = vec![NONE; n];
        let mut size: Vec<u32> = vec![1; n];
        let mut weight = Vec::new();
        let (mut roots, mut touched) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < mst.len() {
            let w2 = mst[i].w2;
            let mut j = i;
            while j < mst.len() && mst[j].w2 == w2 {
                j += 1;
            }
            let group = &mst[i..j];
            roots.clear();
            for e in group {
                for v in [e.a, e.b] {
                    let r = find(&mut uf, v);
                    if !seen[r as usize] {
                        seen[r as usize] = true;
                        roots.push(r);
                    }
                }
            }
            for e in group {
                let (ra, rb) = (find(&mut uf, e.a), find(&mut uf, e.b));
                if ra != rb {
                    // union by smaller index: any rule works, the roots are remapped below
                    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                    uf[hi as usize] = lo;
                }
            }
            touched.clear();
            for &r in &roots {
                seen[r as usize] = false;
                let p = find(&mut uf, r);
                if new_of[p as usize] == NONE {
                    new_of[p as usize] = parent.len() as u32;
                    parent.push(NONE);
                    size.push(0);
                    weight.push(w2.sqrt());
                    touched.push(p);
                }
                let node = new_of[p as usize];
                let c = comp_node[r as usize];
                parent[c as usize] = node;
                size[node as usize] += size[c as usize];
            }
            for &p in &touched {
                comp_node[p as usize] = new_of[p as usize];
                new_of[p as usize] = NONE;
            }
            i = j;
        }
        // children lists (counting sort by parent; children in ascending node order)
        let m = weight.len();
        let mut child_start = vec![0usize; m + 1];
        for &p in &parent {
            if p != NONE {
                child_start[p as usize - n + 1] += 1;
            }
        }
        for v in 0..m {
            child_start[v + 1] += child_start[v];
        }
        let mut fill = child_start.clone();
        let mut child = vec![0u32; child_start[m]];
        for (c, &p) in parent.iter().enumerate() {
            if p != NONE {
                let v = p as usize - n;
                child[fill[v]] = c as u32;
                fill[v] += 1;
            }
        }
        Hierarchy {
            n,
            weight,
            size,
            child_start,
            child,
        }
    }

    pub(super) fn children(&self, v: usize) -> &[u32] {
        let k = v - self.n;
        &self.child[self.child_start[k]..self.child_start[k + 1]]
    }

    /// Condensed tree, excess-of-mass selection and labels (module docs, steps 5–7).
    pub(super) fn labels(&self, min_cluster_size: usize) -> Vec<Option<usize>> {
        let n = self.n;
        let total = self.size.len();
        let mcs = min_cluster_size as u32;
        // condensed cluster of every node (NONE: not reached yet), whether the node lies in
        // a subtree that left its cluster, and the density at which it left
        let mut cl = vec![NONE; total];
        let mut fallen = vec![false; total];
        let mut leave = vec![0.0f64; total];
        // condensed clusters: parent, birth density, stability
        let mut cparent: Vec<u32> = vec![NONE];
        let mut birth: Vec<f64> = vec![0.0];
        let mut stab: Vec<f64> = vec![0.0];
        if total == n {
            return vec![None; n];
        }
        cl[total - 1] = 0;
        let mut big = Vec::new();
        for v in (n..total).rev() {
            let l = cl[v];
            let kids = self.children(v);
            if fallen[v] {
                for &c in kids {
                    cl[c as usize] = l;
                    fallen[c as usize] = true;
                    leave[c as usize] = leave[v];
                }
                continue;
            }
            let w = self.weight[v - n];
            let lambda = if w > 0.0 { 1.0 / w } else { f64::MAX };
            let b = birth[l as usize];
            big.clear();
            big.extend(
                kids.iter()
                    .copied()
                    .filter(|&c| self.size[c as usize] >= mcs),
            );
            if big.len() >= 2 {
                for &c in &big {
                    let id = cparent.len() as u32;
                    cparent.push(l);
                    birth.push(lambda);
                    stab.push(0.0);
                    stab[l as usize] += (lambda - b) * f64::from(self.size[c as usize]);
                    cl[c as usize] = id;
                }
            } else if let Some(&c) = big.first() {
                cl[c as usize] = l;
            }
            for &c in kids {
                let sz = self.size[c as usize];
                if sz < mcs {
                    cl[c as usize] = l;
                    fallen[c as usize] = true;
                    leave[c as usize] = lambda;
                    stab[l as usize] += (lambda - b) * f64::from(sz);
                }
            }
        }
        // excess of mass, bottom-up (children have larger ids), the root (0) excluded
        let nc = cparent.len();
        let mut selected = vec![false; nc];
        let mut child_sum = vec![0.0f64; nc];
        for c in (1..nc).rev() {
            if stab[c] >= child_sum[c] {
                selected[c] = true;
            } else {
                stab[c] = child_sum[c];
            }
            child_sum[cparent[c] as usize] += stab[c];
        }
        // the selected cluster above every cluster (top-down)
        let mut sel = vec![NONE; nc];
        for c in 1..nc {
            let up = sel[cparent[c] as usize];
            sel[c] = if up != NONE {
                up
            } else if selected[c] {
                c as u32
            } else {
                NONE
            };
        }
        (0..n)
            .map(|p| {
                let s = sel[cl[p] as usize];
                (s != NONE).then_some(s as usize)
            })
            .collect()
    }
}
