//! The directory as the source of names for ids in words for people ([`crate::text::Names`]).

use super::Directory;
use crate::text::Names;

impl Names for Directory {
    fn employee(&self, id: &str) -> Option<&str> {
        self.employees.iter().find(|e| e.id == id).map(|e| e.name.as_str())
    }

    fn department(&self, id: &str) -> Option<&str> {
        self.departments.iter().find(|d| d.id == id).map(|d| d.name.as_str())
    }

    fn region(&self, id: &str) -> Option<&str> {
        self.regions.iter().find(|r| r.id == id).map(|r| r.name.as_str())
    }

    fn topic(&self, id: &str) -> Option<&str> {
        self.topics.iter().find(|t| t.id == id).map(|t| t.name.as_str())
    }

    fn queue(&self, id: &str) -> Option<&str> {
        self.departments.iter().find(|d| d.queue == id).map(|d| d.name.as_str())
    }
}
