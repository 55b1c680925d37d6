//! A generational arena: stable small ids for nodes, and a stale id (of an evicted node whose
//! slot was reused) never reaches the wrong node.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub index: u32,
    pub generation: u32,
}

enum Slot<T> {
    Used {
        generation: u32,
        value: T,
    },
    Free {
        generation: u32,
        next_free: Option<u32>,
    },
}

pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Option<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            free: None,
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, value: T) -> Key {
        self.len += 1;
        if let Some(index) = self.free {
            let slot = &mut self.slots[index as usize];
            if let Slot::Free {
                generation,
                next_free,
            } = *slot
            {
                self.free = next_free;
                let generation = generation.wrapping_add(1);
                *slot = Slot::Used { generation, value };
                return Key { index, generation };
            }
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot::Used {
            generation: 0,
            value,
        });
        Key {
            index,
            generation: 0,
        }
    }

    pub fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index as usize) {
            Some(Slot::Used { generation, value }) if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index as usize) {
            Some(Slot::Used { generation, value }) if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        match slot {
            Slot::Used { generation, .. } if *generation == key.generation => {
                let old = std::mem::replace(
                    slot,
                    Slot::Free {
                        generation: key.generation,
                        next_free: self.free,
                    },
                );
                self.free = Some(key.index);
                self.len -= 1;
                match old {
                    Slot::Used { value, .. } => Some(value),
                    Slot::Free { .. } => None,
                }
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.free = None;
        self.len = 0;
    }
}
